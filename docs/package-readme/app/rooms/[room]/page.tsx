'use client';
import { useParams } from 'next/navigation';
import { useSocket } from 'next-channels/react';
import { type FormEvent, useEffect, useState } from 'react';
import type { RoomProtocol } from '../../../channels/room';

/** A room's page: its latest messages, new ones as they come, and a box to send one. */
export default function RoomPage() {
  const { room } = useParams<{ room: string }>();
  // One socket per path for the whole page, reconnecting by itself; typed by RoomProtocol.
  const { status, socket, send } = useSocket<RoomProtocol>(`/ws/rooms/${room}/`);
  const [messages, setMessages] = useState<readonly string[]>([]);

  useEffect(
    () =>
      socket.onMessage((frame) => {
        // After a reconnect the history comes again, and replaces what is shown.
        if (frame.type === 'history') setMessages(frame.messages);
        if (frame.type === 'message') setMessages((shown) => [...shown, frame.text]);
      }),
    [socket],
  );

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const input = event.currentTarget.elements.namedItem('text') as HTMLInputElement;
    if (send({ type: 'message', text: input.value })) input.value = '';
  };

  return (
    <main>
      <h1>{room}</h1>
      <p>{status}</p>
      <ul>
        {messages.map((text, index) => (
          <li key={index}>{text}</li>
        ))}
      </ul>
      <form onSubmit={submit}>
        <input name="text" maxLength={500} autoComplete="off" required />
        <button>Send</button>
      </form>
    </main>
  );
}
