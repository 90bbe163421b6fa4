import { type EventHandlers, type EventOf, JsonWebsocketConsumer } from 'next-channels';

/** The events the room's group carries: the consumer and the route handler share this map. */
export type RoomEvents = { 'room.message': { readonly text: string } };

/** One connection to `/ws/room/<name>/`: what it sends goes to everyone in the room. */
export class RoomConsumer extends JsonWebsocketConsumer<{ room: string }, RoomEvents> implements EventHandlers<RoomEvents> {
  override async connect(): Promise<void> {
    await this.groupAdd(`room.${this.scope.params.room}`);
    await this.accept();
  }

  async receiveJson(content: unknown): Promise<void> {
    // Frames come from the client: check them before use.
    if (typeof content !== 'string') return;
    await this.groupSend(`room.${this.scope.params.room}`, { type: 'room.message', text: content.slice(0, 200) });
  }

  'room.message'(event: EventOf<RoomEvents, 'room.message'>): void {
    this.sendJson({ text: event.text });
  }
}
