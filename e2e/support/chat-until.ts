import type { ChatClient, ChatSnapshot } from '../../lib/client';

/**
 * Resolves with the client's snapshot once `ready` holds for it (checked at once and on every
 * change), or rejects after `timeoutMs` saying `what` was awaited and what the snapshot held.
 */
export function untilSnapshot(chat: ChatClient, ready: (snapshot: ChatSnapshot) => boolean, what: string, timeoutMs = 30_000): Promise<ChatSnapshot> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`${what}: not within ${timeoutMs} ms; ${JSON.stringify({ ...chat.getSnapshot(), messages: chat.getSnapshot().messages.length })}`));
    }, timeoutMs);
    const check = (): void => {
      if (!ready(chat.getSnapshot())) return;
      clearTimeout(timer);
      stop();
      resolve(chat.getSnapshot());
    };
    const stop = chat.subscribe(check);
    check();
  });
}
