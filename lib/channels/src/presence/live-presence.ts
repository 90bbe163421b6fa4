import { processSlot } from '../process-slot';
import type { PresenceTracker } from './types';

const running = processSlot<PresenceTracker>('presence');

/**
 * Makes `tracker` the one `livePresence()` returns in this process. `serveNext` calls it; call it
 * yourself only with a server of your own.
 */
export function installPresence(tracker: PresenceTracker): void {
  running.install(tracker);
}

/** Forgets the installed presence tracker (on shutdown, and between tests). */
export function uninstallPresence(): void {
  running.uninstall();
}

/**
 * The presence tracker of the running server, from a Next route handler or server action (or any
 * code in the process), read from a per-process slot as `channelLayer()` is.
 *
 * @throws Error when no server has installed one in this process.
 * @example
 * ```ts
 * export async function GET() {
 *   const { entries } = await livePresence().list('room.lobby');
 *   return Response.json({ here: entries.length });
 * }
 * ```
 */
export function livePresence(): PresenceTracker {
  return running.get();
}
