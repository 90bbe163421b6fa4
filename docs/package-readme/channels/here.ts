import { route, WebsocketConsumer } from 'next-channels';
import { roomGroup } from './room';

/**
 * Who is in a room: `/ws/here/<room>/?name=Ana` tracks the connection in the room's presence
 * under the name (two tabs with one name count once), and the client gets the framework's
 * presence frames: the whole list, then what changes.
 */
export class HereConsumer extends WebsocketConsumer<{ readonly room: string }> {
  override async connect(): Promise<void> {
    await this.accept();
    const name = (this.scope.query.get('name') ?? '').trim().slice(0, 50) || 'guest';
    // Untracked by itself when the connection ends. The newest tab's meta wins: keep it the same
    // for every tab of a name, or each new tab is a change that everyone in the room hears.
    await this.track(roomGroup(this.scope.params.room), name, { name });
  }
}

export const hereRoutes = [route('/ws/here/:room/', HereConsumer, { params: { room: /^[a-z0-9-]{1,32}$/ } })];
