'use client';
import { useParams } from 'next/navigation';
import { type FormEvent, useEffect, useRef, useState } from 'react';

/** A room's page: its latest messages, new ones as they come, and a box to send one. */
export default function RoomPage() {
  const { room } = useParams<{ room: string }>();
  const [messages, setMessages] = useState<readonly string[]>([]);
  const socket = useRef<WebSocket | null>(null);

  useEffect(() => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/ws/rooms/${room}/`);
    ws.onmessage = (event: MessageEvent<string>) => {
      const frame = JSON.parse(event.data) as { type: string; text?: string; messages?: string[] };
      if (frame.type === 'history') setMessages(frame.messages ?? []);
      if (frame.type === 'message') setMessages((shown) => [...shown, frame.text ?? '']);
    };
    socket.current = ws;
    return () => ws.close();
  }, [room]);

  const send = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const input = event.currentTarget.elements.namedItem('text') as HTMLInputElement;
    socket.current?.send(JSON.stringify({ text: input.value }));
    input.value = '';
  };

  return (
    <main>
      <h1>{room}</h1>
      <ul>
        {messages.map((text, index) => (
          <li key={index}>{text}</li>
        ))}
      </ul>
      <form onSubmit={send}>
        <input name="text" maxLength={500} autoComplete="off" required />
        <button>Send</button>
      </form>
    </main>
  );
}
