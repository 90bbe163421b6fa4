import { type EventHandlers, type EventOf, type Frames, JsonWebsocketConsumer } from 'next-channels';

/** What the room's page and its consumer say to each other: the page imports this type. */
export type RoomProtocol = {
  client: Frames<{ say: { text: string } }>;
  server: Frames<{ said: { text: string } }>;
};

/** The events the room's group carries: the consumer and the route handler share this map. */
export type RoomEvents = { 'room.message': { readonly text: string } };

/** One connection to `/ws/room/<name>/`: what it says goes to everyone in the room. */
export class RoomConsumer extends JsonWebsocketConsumer<{ room: string }, RoomEvents> implements EventHandlers<RoomEvents> {
  override async connect(): Promise<void> {
    await this.groupAdd(`room.${this.scope.params.room}`);
    await this.accept();
  }

  async receiveJson(content: unknown): Promise<void> {
    // Frames come from the client: check them before use.
    const text = (content as { text?: unknown } | null)?.text;
    if (typeof text !== 'string' || text === '') return;
    await this.groupSend(`room.${this.scope.params.room}`, { type: 'room.message', text: text.slice(0, 200) });
  }

  'room.message'(event: EventOf<RoomEvents, 'room.message'>): void {
    this.sendJson({ type: 'said', text: event.text } satisfies RoomProtocol['server']);
  }
}
