import type { Writable } from 'node:stream';

/**
 * Resolves once `stream` has room again ('drain') or is gone ('close'); at once when it has room
 * now. What a connection's `whenSent` waits on after writing what it had queued.
 */
export function drained(stream: Pick<Writable, 'writableNeedDrain' | 'destroyed' | 'on' | 'off'>): Promise<void> {
  if (!stream.writableNeedDrain || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}
