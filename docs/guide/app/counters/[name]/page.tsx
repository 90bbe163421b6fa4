'use client';
import { useParams } from 'next/navigation';
import { useEffect, useRef, useState } from 'react';
import { resetCounter } from './actions';

/** A counter's page: its value, live; a button that adds one, and one that resets it. */
export default function CounterPage() {
  const { name } = useParams<{ name: string }>();
  const [value, setValue] = useState<number | null>(null);
  const socket = useRef<WebSocket | null>(null);

  useEffect(() => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/ws/counters/${name}/`);
    ws.onmessage = (event: MessageEvent<string>) => {
      const frame = JSON.parse(event.data) as { type: string; value?: number };
      if (frame.type === 'count') setValue(frame.value ?? 0);
    };
    socket.current = ws;
    return () => ws.close();
  }, [name]);

  return (
    <main>
      <h1>
        {name}: {value ?? '…'}
      </h1>
      <button onClick={() => socket.current?.send(JSON.stringify({ type: 'increment' }))} disabled={value === null}>
        +1
      </button>
      <button onClick={() => void resetCounter(name)}>Reset</button>
    </main>
  );
}
