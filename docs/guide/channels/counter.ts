import { type EventHandlers, type EventOf, type Frames, JsonWebsocketConsumer, processState, route } from 'next-channels';

/** What a counter's page and its consumer say to each other: typed once, for both sides. */
export type CounterProtocol = {
  client: Frames<{ increment: object }>;
  server: Frames<{ count: { value: number }; error: { detail: string } }>;
};

/** The layer events of the counter: each event's `type`, and its fields besides. */
export type CounterEvents = {
  'counter.changed': { readonly value: number };
};

/** Everyone watching one counter is in its group. */
export function counterGroup(name: string): string {
  return `counter.${name}`;
}

/** What may name a counter, in its route and in the server action. */
export const COUNTER_NAME = /^[a-z0-9-]{1,32}$/;

/**
 * The counts, by counter name. The consumer and the server action both change them, and Next
 * bundles server actions apart from server.ts: in processState they are one Map for the whole
 * process, where a module-level Map would be one per bundle.
 */
export const counts = () => processState('counter.counts', () => new Map<string, number>());

/**
 * A shared counter: each click of anyone watching `/ws/counters/<name>/` adds one, and everyone
 * watching sees the new value at once.
 */
export class CounterConsumer
  extends JsonWebsocketConsumer<{ readonly name: string }, CounterEvents>
  implements EventHandlers<CounterEvents>
{
  // Joined before connect() runs, left when the connection ends: nothing to do by hand.
  override readonly groups = [counterGroup(this.scope.params.name)];

  override async connect(): Promise<void> {
    await this.accept();
    this.sendJson({ type: 'count', value: counts().get(this.scope.params.name) ?? 0 } satisfies CounterProtocol['server']);
  }

  override async receiveJson(content: unknown): Promise<void> {
    if ((content as { type?: unknown } | null)?.type !== 'increment') {
      this.sendJson({ type: 'error', detail: 'send {"type": "increment"}' } satisfies CounterProtocol['server']);
      return;
    }
    const name = this.scope.params.name;
    const value = (counts().get(name) ?? 0) + 1;
    counts().set(name, value);
    // To every member of the group, this consumer included; typed by CounterEvents.
    await this.groupSend(counterGroup(name), { type: 'counter.changed', value });
  }

  /** The handler of 'counter.changed' events: its name is the event type. */
  'counter.changed'(event: EventOf<CounterEvents, 'counter.changed'>): void {
    this.sendJson({ type: 'count', value: event.value } satisfies CounterProtocol['server']);
  }
}

/** The counter's routes (a Django app's `websocket_urlpatterns`): `:name` is `this.scope.params.name`. */
export const counterRoutes = [route('/ws/counters/:name/', CounterConsumer, { params: { name: COUNTER_NAME } })];
