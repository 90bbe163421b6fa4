import { createHash } from 'node:crypto';
import {
  CloseCode,
  type EventHandlers,
  type EventOf,
  JsonWebsocketConsumer,
  type ChannelLayer,
  type Scope,
  type SessionUser,
} from 'next-channels';
import { errorFrame, type NotificationFrame, type RetractFrame, validateClientFrame } from './protocol';

/** The layer events of notifications. */
export type NotificationEvents = {
  'notify.message': { readonly frame: NotificationFrame | RetractFrame };
};

/** The group of every notification connection of one user. */
export function userNotificationGroup(userId: string): string {
  return `notify.user.${groupSafe(userId)}`;
}

/** Sends a notification (or the retraction of one) to every open notification connection of a user, in any process. */
export function notifyUser(layer: ChannelLayer, userId: string, frame: NotificationFrame | RetractFrame): Promise<void> {
  return layer.groupSend(userNotificationGroup(userId), { type: 'notify.message', frame });
}

/**
 * Live notifications for one person (`/ws/notifications/`): whatever the app pushes to the
 * person's groups reaches every tab they have open, in any room. Push-only: the client may send
 * `ping`; anything else is answered with an error frame.
 */
export class NotificationConsumer
  extends JsonWebsocketConsumer<Record<string, string>, NotificationEvents>
  implements EventHandlers<NotificationEvents>
{
  static readonly hotKey = 'chat.NotificationConsumer';
  override readonly groups: readonly string[];

  constructor(scope: Scope) {
    super(scope);
    const user: SessionUser | null = scope.user;
    if (!user) throw new Error('NotificationConsumer needs the session middleware in front of it');
    // By user id only: a display name is anyone's to pick, so nothing is ever sent to one.
    this.groups = [userNotificationGroup(user.id)];
  }

  override receiveJson(content: unknown): void {
    const parsed = validateClientFrame(content);
    if (parsed.ok && parsed.frame.type === 'ping') this.sendJson({ type: 'pong' });
    else this.sendJson(parsed.ok ? errorFrame('unknown_type', 'this socket only answers ping') : parsed.error);
  }

  override receiveInvalidJson(): void {
    this.sendJson(errorFrame('bad_json', 'frames must be JSON text'));
  }

  override receiveBinary(): void {
    this.close(CloseCode.UnsupportedData, 'binary frames are not supported');
  }

  'notify.message'(event: EventOf<NotificationEvents, 'notify.message'>): void {
    this.sendJson(event.frame);
  }
}

/** A user id as a group name may hold it: as it is when it fits, else a hash of it. */
export function groupSafe(id: string): string {
  return /^[A-Za-z0-9_-]{1,80}$/.test(id) ? id : createHash('sha256').update(id).digest('hex').slice(0, 32);
}
