import type { IncomingMessage, ServerResponse } from 'node:http';

/** How much of a body still coming after its answer is read and thrown away, at most. */
export const UNREAD_BODY_DISCARD_BYTES = 16 * 1024 * 1024;

/** How long after its answer a body still coming is read and thrown away, at most. */
export const UNREAD_BODY_LINGER_MS = 5_000;

/** Bounds of `discardUnreadBody`; options so that tests run in milliseconds. */
export interface UnreadBodyLimits {
  readonly maxBytes?: number;
  readonly lingerMs?: number;
}

/**
 * Bounds what is read of a request body after the answer went out (a 413 at the cap, a 401
 * before reading): what is left is read and thrown away, never kept, until the body ends (the
 * connection then carries the next request) or for at most `lingerMs` and `maxBytes`, when the
 * connection is closed.
 *
 * Closing at once would reset the connection of a client still sending, and a client that only
 * reads once its upload is out would lose the answer with it (nginx lingers on the same
 * grounds). Node alone reads an unread body to its end however long, and one a route stopped
 * reading not at all, leaving the connection stuck.
 */
export function discardUnreadBody(req: IncomingMessage, res: ServerResponse, limits: UnreadBodyLimits = {}): void {
  const { maxBytes = UNREAD_BODY_DISCARD_BYTES, lingerMs = UNREAD_BODY_LINGER_MS } = limits;
  // Before Node's own 'finish' listener: that one would have the parser drop an unread body
  // unseen, to its end, and this one counts it.
  res.prependOnceListener('finish', () => {
    if (req.complete || req.destroyed) return;
    const socket = req.socket;
    const close = (): void => void socket.destroy();
    const timer = setTimeout(close, lingerMs).unref();
    const done = (): void => clearTimeout(timer);
    req.once('end', done);
    socket.once('close', done);
    let discarded = 0;
    // Whoever read the body before (a route that refused it) is done with it.
    req.removeAllListeners('readable');
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > maxBytes) close();
    });
    req.resume();
  });
}
