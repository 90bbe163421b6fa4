import { channelLayer } from 'next-channels';
import { counterGroup, type CounterEvents } from './counter-consumer';

/**
 * A Next route handler that sends to consumers: `app/api/counters/[name]/reset/route.ts`.
 * `channelLayer()` is the way from Next's bundles to the live channel layer of the server, typed
 * by the consumers' event map.
 */
export async function POST(_request: Request, context: { params: Promise<{ name: string }> }): Promise<Response> {
  const { name } = await context.params;
  await channelLayer<CounterEvents>().groupSend(counterGroup(name), { type: 'counter.changed', value: 0 });
  return new Response(null, { status: 204 });
}
