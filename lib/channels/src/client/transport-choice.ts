import { fallbackUrls } from './fallback-urls';
import { browserSocket, type FetchLike, globalFetch, globalTimers, type Timers, type WebSocketFactory, type WebSocketLike } from './platform';

/** How a `ChannelSocket` carries its frames: a WebSocket, or the HTTP fallback (`fallbackSocket`). */
export type Transport = 'websocket' | 'fallback';

/**
 * When a `ChannelSocket` uses the HTTP fallback:
 * - `auto`: WebSocket first; the fallback when a probe finds the upgrade blocked, remembered for a while;
 * - `off`: WebSocket only;
 * - `only`: the fallback only.
 */
export type FallbackMode = 'auto' | 'off' | 'only';

/**
 * What {@link probeUpgrade} found:
 * - `reachable`: a WebSocket reached the server, so the upgrade is not blocked;
 * - `blocked`: the server answers over HTTP but no WebSocket got through;
 * - `down`: neither answered (a server restarting, a network gone): an ordinary outage.
 */
export type UpgradeProbe = 'blocked' | 'reachable' | 'down';

/**
 * Until when the fallback is to be used, kept across page loads (and shared by tabs) so a
 * network that blocks the upgrade costs the probe once, not at every page.
 */
export interface TransportMemory {
  /** The time (ms since the epoch) until which to use the fallback, or `null` when none is kept. */
  get(): number | null;
  /** Uses the fallback until `until` (ms since the epoch). */
  set(until: number): void;
  /** Forgets it: WebSocket first again. */
  clear(): void;
}

/** The part of the Web Storage API a {@link browserTransportMemory} uses. */
export type StorageLike = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** The key of the time kept by {@link browserTransportMemory}. */
export const FALLBACK_UNTIL_KEY = 'next-channels:fallback-until';

/** A {@link TransportMemory} in this page's memory only. */
export function memoryTransportMemory(): TransportMemory {
  let until: number | null = null;
  return {
    get: () => until,
    set: (time) => {
      until = time;
    },
    clear: () => {
      until = null;
    },
  };
}

/**
 * A {@link TransportMemory} in `localStorage` (under `next-channels:fallback-until`), so every tab and
 * the next page load know. Storage that is absent, full or refused (a private window, a sandboxed
 * frame, cookies blocked) throws on access: then what this page set stands in.
 *
 * @param storage Finds the storage at each access (default the global `localStorage`).
 */
export function browserTransportMemory(storage: () => StorageLike | null | undefined = () => globalThis.localStorage): TransportMemory {
  const local = memoryTransportMemory();
  // Storage is read at every access (another tab may have changed it), and each access may throw.
  const attempt = <T>(access: (found: StorageLike) => T): { ok: true; value: T } | { ok: false } => {
    try {
      const found = storage();
      return found ? { ok: true, value: access(found) } : { ok: false };
    } catch {
      return { ok: false };
    }
  };
  return {
    get: () => {
      const stored = attempt((found) => found.getItem(FALLBACK_UNTIL_KEY));
      const until = stored.ok && stored.value !== null ? Number(stored.value) : Number.NaN;
      // What this page set stands when storage has nothing: a write refused (storage full)
      // must not make the page forget what its probe found.
      return Number.isFinite(until) ? until : local.get();
    },
    set: (until) => {
      local.set(until);
      attempt((found) => found.setItem(FALLBACK_UNTIL_KEY, String(until)));
    },
    clear: () => {
      local.clear();
      attempt((found) => found.removeItem(FALLBACK_UNTIL_KEY));
    },
  };
}

/** What {@link probeUpgrade} needs: the socket's URL, and how to reach it. */
export interface ProbeUpgradeOptions {
  /** The URL the client opens as a WebSocket; only its scheme, host and path are probed. */
  readonly wsUrl: string;
  /** Makes the probe's WebSocket (default the global `WebSocket`). */
  readonly createSocket?: WebSocketFactory;
  /** Makes the HTTP probe (default the global `fetch`). */
  readonly fetch?: FetchLike;
  /** Each probe that has not answered within this long has failed (default 5 s). */
  readonly timeoutMs?: number;
  /** Timers, injectable for tests (default the global ones). */
  readonly timers?: Timers;
}

/**
 * Tells a network that blocks the WebSocket upgrade from a server that is down, so a client
 * moves to the HTTP fallback for the first and not for the second. Two probes run at once on the
 * consumer's path, neither of which runs the application: a WebSocket to `?_channels=probe`,
 * which the server accepts and closes (1000, `probe`), and a `GET ?_channels=probe`, answered
 * 204 with `X-Channels-Probe: 1`. The WebSocket through → `reachable`; else the HTTP answer →
 * `blocked`; else `down`.
 */
export async function probeUpgrade(options: ProbeUpgradeOptions): Promise<UpgradeProbe> {
  const urls = fallbackUrls(options.wsUrl);
  const timers = options.timers ?? globalTimers;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const http = new AbortController();
  const answered = httpProbe(urls.httpProbe, options.fetch ?? globalFetch, http.signal, timers, timeoutMs);
  if (await socketProbe(urls.socketProbe, options.createSocket ?? browserSocket, timers, timeoutMs)) {
    http.abort();
    return 'reachable';
  }
  return (await answered) ? 'blocked' : 'down';
}

/** Whether a WebSocket to the probe URL opened, or was closed by the server as a probe. */
function socketProbe(url: string, createSocket: WebSocketFactory, timers: Timers, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let socket: WebSocketLike;
    try {
      socket = createSocket(url);
    } catch {
      resolve(false);
      return;
    }
    const finish = (through: boolean): void => {
      timers.clearTimeout(timer);
      socket.onopen = null;
      socket.onclose = null;
      socket.onerror = null;
      socket.onmessage = null;
      try {
        socket.close(1000);
      } catch {
        // Closed already.
      }
      resolve(through);
    };
    const timer = timers.setTimeout(() => finish(false), timeoutMs);
    socket.onopen = () => finish(true);
    socket.onclose = (event) => finish(event.code === 1000 && event.reason === 'probe');
    socket.onerror = () => {
      // `onclose` follows with the code.
    };
  });
}

/** Whether the server answered the HTTP probe as the framework does. */
async function httpProbe(url: string, fetch: FetchLike, signal: AbortSignal, timers: Timers, timeoutMs: number): Promise<boolean> {
  const timeout = new AbortController();
  const timer = timers.setTimeout(() => timeout.abort(), timeoutMs);
  const stop = (): void => timeout.abort();
  signal.addEventListener('abort', stop);
  try {
    const response = await fetch(url, { method: 'GET', credentials: 'same-origin', cache: 'no-store', signal: timeout.signal });
    response.body?.cancel().catch(() => {});
    return response.status === 204 && response.headers.get('X-Channels-Probe') === '1';
  } catch {
    return false;
  } finally {
    timers.clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  }
}
