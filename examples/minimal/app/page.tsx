'use client';
import { useSocket } from 'next-channels/react';
import { type FormEvent, useEffect, useState } from 'react';
import type { RoomProtocol } from '@/channels/room';

const ROOM = 'lobby';

/** The room's page: what the room says, and a box to say something. The socket reconnects by itself. */
export default function Room() {
  const { status, transport, socket, send } = useSocket<RoomProtocol>(`/ws/room/${ROOM}/`);
  const [messages, setMessages] = useState<string[]>([]);
  const [draft, setDraft] = useState('');

  useEffect(() => socket.on('said', (frame) => setMessages((shown) => [...shown, frame.text])), [socket]);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (draft && send({ type: 'say', text: draft })) setDraft('');
  };

  return (
    <main>
      <h1>Room {ROOM}</h1>
      <p id="status" data-transport={transport}>
        {status}
        {transport === 'fallback' && ' (fallback)'}
      </p>
      <form onSubmit={submit}>
        <input id="message" aria-label="Message" value={draft} onChange={(event) => setDraft(event.target.value)} />
        <button type="submit">Send</button>
      </form>
      <ul id="messages">
        {messages.map((text, index) => (
          <li key={index}>{text}</li>
        ))}
      </ul>
      <p>
        <a href="/poll">The poll</a>
      </p>
    </main>
  );
}
