import { once } from 'node:events';
import WebSocket from 'ws';

/**
 * A bare WebSocket client from the test process, as a script or another app would connect: it
 * sends what it is told, with an allowed Origin and no session cookie.
 */
export async function rawClient(url: string, origin: string): Promise<{ send(frame: object): void; close(): void; welcome: Promise<{ user: string; user_id: string }> }> {
  const ws = new WebSocket(url, { headers: { origin } });
  const welcome = new Promise<{ user: string; user_id: string }>((resolve) => {
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { type: string; user: string; user_id: string };
      if (frame.type === 'welcome') resolve(frame);
    });
  });
  await once(ws, 'open');
  return { send: (frame) => ws.send(JSON.stringify(frame)), close: () => ws.close(), welcome };
}
