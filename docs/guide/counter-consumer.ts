import {
  type EventHandlers,
  type EventOf,
  JsonWebsocketConsumer,
  route,
} from 'next-channels';

/** The layer events of the counter: their `type`, and the fields besides it. */
export type CounterEvents = {
  'counter.changed': { readonly value: number };
};

/** Everyone watching one counter is in its group. */
export function counterGroup(name: string): string {
  return `counter.${name}`;
}

// One process's counts: enough for a demo. Several processes would keep them in Redis or the
// database, like the chat keeps its messages.
const counts = new Map<string, number>();

/**
 * A shared counter: every click of anyone watching `/ws/counter/<name>/` goes up by one, and
 * everyone sees the new value at once.
 */
export class CounterConsumer
  extends JsonWebsocketConsumer<{ readonly name: string }, CounterEvents>
  implements EventHandlers<CounterEvents>
{
  // Joined before connect() runs, left after disconnect(): nothing to do by hand.
  override readonly groups = [counterGroup(this.scope.params.name)];

  override async connect(): Promise<void> {
    await this.accept();
    this.sendJson({ type: 'count', value: counts.get(this.scope.params.name) ?? 0 });
  }

  override async receiveJson(content: unknown): Promise<void> {
    if ((content as { type?: unknown } | null)?.type !== 'increment') {
      this.sendJson({ type: 'error', detail: 'send {"type": "increment"}' });
      return;
    }
    const name = this.scope.params.name;
    const value = (counts.get(name) ?? 0) + 1;
    counts.set(name, value);
    // To every member of the group, this consumer included; typed by CounterEvents.
    await this.groupSend(counterGroup(name), { type: 'counter.changed', value });
  }

  /** The handler of 'counter.changed' events: its name is the event type. */
  'counter.changed'(event: EventOf<CounterEvents, 'counter.changed'>): void {
    counts.set(this.scope.params.name, event.value);
    this.sendJson({ type: 'count', value: event.value });
  }
}

/** The route: the `:name` parameter, checked, is `this.scope.params.name` above. */
export const counterRoute = route('/ws/counter/:name/', CounterConsumer, { params: { name: /^[a-z0-9-]{1,32}$/ } });
