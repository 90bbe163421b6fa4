'use client';
import { type FormEvent, useEffect, useRef, useState } from 'react';

const ROOM = 'lobby';

/** The room's page: a socket to the RoomConsumer, what the room says, and a box to say something. */
export default function Room() {
  const socket = useRef<WebSocket | null>(null);
  const [status, setStatus] = useState('connecting');
  const [messages, setMessages] = useState<string[]>([]);
  const [draft, setDraft] = useState('');

  useEffect(() => {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/room/${ROOM}/`);
    socket.current = ws;
    ws.onopen = () => setStatus('connected');
    ws.onclose = () => setStatus('disconnected');
    ws.onmessage = (event) => {
      const { text } = JSON.parse(event.data as string) as { text: string };
      setMessages((shown) => [...shown, text]);
    };
    return () => {
      // React runs effects twice in development: the first socket goes quietly.
      ws.onopen = null;
      ws.onclose = null;
      ws.onmessage = null;
      ws.close();
    };
  }, []);

  const send = (event: FormEvent) => {
    event.preventDefault();
    if (!draft || socket.current?.readyState !== WebSocket.OPEN) return;
    socket.current.send(JSON.stringify(draft));
    setDraft('');
  };

  return (
    <main>
      <h1>Room {ROOM}</h1>
      <p id="status">{status}</p>
      <form onSubmit={send}>
        <input id="message" aria-label="Message" value={draft} onChange={(event) => setDraft(event.target.value)} />
        <button type="submit">Send</button>
      </form>
      <ul id="messages">
        {messages.map((text, index) => (
          <li key={index}>{text}</li>
        ))}
      </ul>
    </main>
  );
}
