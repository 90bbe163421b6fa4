'use client';
import { useParams } from 'next/navigation';
import { useLatest, useSocket } from 'next-channels/react';
import type { CounterProtocol } from '../../../channels/counter';
import { resetCounter } from './actions';

/** A counter's page: its value, live; a button that adds one, and one that resets it. */
export default function CounterPage() {
  const { name } = useParams<{ name: string }>();
  // One socket per path for the whole page; it reconnects by itself after a drop or a restart.
  const { status, socket, send } = useSocket<CounterProtocol>(`/ws/counters/${name}/`);
  const count = useLatest(socket, 'count');

  return (
    <main>
      <h1>
        {name}: {count?.value ?? '…'}
      </h1>
      <p>{status}</p>
      <button onClick={() => send({ type: 'increment' })} disabled={status !== 'open'}>
        +1
      </button>
      <button onClick={() => void resetCounter(name)}>Reset</button>
    </main>
  );
}
