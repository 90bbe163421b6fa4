'use server';
import { channelLayer } from 'next-channels';
import { COUNTER_NAME, counterGroup, type CounterEvents, counts } from '../../../channels/counter';

/** Sets a counter back to zero, for everyone watching it. The page calls it like a function. */
export async function resetCounter(name: string): Promise<void> {
  // A server action can be called by anyone, with anything: check its arguments.
  if (typeof name !== 'string' || !COUNTER_NAME.test(name)) throw new Error('no such counter');
  counts().set(name, 0);
  // The server's live channel layer, its sends typed by the consumer's events.
  await channelLayer<CounterEvents>().groupSend(counterGroup(name), { type: 'counter.changed', value: 0 });
}
