import { type EventHandlers, type EventOf, type Frames, JsonWebsocketConsumer, processState, route } from 'next-channels';

/**
 * What a room's pages and its consumer say to each other, typed once for both sides: the page
 * imports this type (only the type: nothing of the server reaches the browser).
 */
export type RoomProtocol = {
  client: Frames<{ message: { text: string } }>;
  server: Frames<{ history: { messages: readonly string[] }; message: { text: string }; error: { detail: string } }>;
};

/** The layer events of a room: each event's `type`, and its fields besides. */
export type RoomEvents = {
  'room.message': { readonly text: string };
};

/** Everyone connected to a room is in its group. */
export function roomGroup(room: string): string {
  return `room.${room}`;
}

// The latest messages of every room. The consumer and the route handler both use them, and Next
// bundles route handlers apart from server.ts, so they live in processState: a module-level Map
// would exist once per bundle.
const history = () => processState('rooms.history', () => new Map<string, readonly string[]>());

/** The latest messages of a room, oldest first. */
export function latestMessages(room: string): readonly string[] {
  return history().get(room) ?? [];
}

/** Keeps a message among the room's latest 20. */
export function remember(room: string, text: string): void {
  history().set(room, [...latestMessages(room), text].slice(-20));
}

/**
 * A chat room: a message sent on `/ws/rooms/<room>/` reaches everyone connected to that room,
 * and whoever joins gets the latest ones first.
 */
export class RoomConsumer
  extends JsonWebsocketConsumer<{ readonly room: string }, RoomEvents>
  implements EventHandlers<RoomEvents>
{
  // Joined before connect() runs, left when the connection ends.
  override readonly groups = [roomGroup(this.scope.params.room)];

  override async connect(): Promise<void> {
    await this.accept();
    this.sendJson({ type: 'history', messages: latestMessages(this.scope.params.room) } satisfies RoomProtocol['server']);
  }

  override async receiveJson(content: unknown): Promise<void> {
    // Frames come from the client: check them before use.
    const text = (content as { text?: unknown } | null)?.text;
    if (typeof text !== 'string' || text.length === 0 || text.length > 500) {
      this.sendJson({ type: 'error', detail: 'send {"text": "..."}, 1 to 500 characters' } satisfies RoomProtocol['server']);
      return;
    }
    remember(this.scope.params.room, text);
    // To every member of the group, this consumer included; typed by RoomEvents.
    await this.groupSend(roomGroup(this.scope.params.room), { type: 'room.message', text });
  }

  /** The handler of 'room.message' events: its name is the event type. */
  'room.message'(event: EventOf<RoomEvents, 'room.message'>): void {
    this.sendJson({ type: 'message', text: event.text } satisfies RoomProtocol['server']);
  }
}

/** The room's routes, as a Django app's `websocket_urlpatterns`: `:room` is checked before the handshake. */
export const roomRoutes = [route('/ws/rooms/:room/', RoomConsumer, { params: { room: /^[a-z0-9-]{1,32}$/ } })];
