/**
 * next-channels/react: React hooks over {@link ChannelSocket}. Every component that asks for the
 * same path shares one socket, held open while any of them is mounted (StrictMode's extra mount
 * and unmount neither open a second socket nor close the shared one). State comes through
 * `useSyncExternalStore`, so it renders the same on the server (`connecting`, nothing yet).
 *
 * ```tsx
 * function Poll() {
 *   const poll = useSocket<PollProtocol>('/ws/poll/');
 *   const votes = useLatest(poll.socket, 'votes');
 *   const here = usePresence(poll.socket, 'poll');
 *   return <p>{poll.status}: {votes?.counts.tea ?? 0} for tea, {here.length} here</p>;
 * }
 * ```
 *
 * @packageDocumentation
 */
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import {
  ChannelSocket,
  type ChannelSocketOptions,
  type PresenceEntry,
  RequestError,
  type RequestOptions,
  type SocketSnapshot,
} from '../client/channel-socket';
import type { OfType, ReplyOf, SocketProtocol } from '../protocol';

const shared = new Map<string, ChannelSocket<SocketProtocol>>();

/** What the server renders and hydration starts from: the first attempt, not yet open. */
const SERVER_SNAPSHOT: SocketSnapshot = Object.freeze({ status: 'connecting', retryAt: null, closeCode: null, closeReason: null, failures: 0, transport: 'websocket' });
const NO_ENTRIES: readonly PresenceEntry[] = Object.freeze([]);

/** Options of the shared socket of a path: read when the first component asks for it. */
export type SharedSocketOptions = Omit<ChannelSocketOptions, 'url'>;

/**
 * The page's one socket to `path` (a path on the page's host or a `ws:` URL), made on first use
 * with `options`; later calls get the same socket, whatever options they pass. On the server
 * (rendering a page, where no socket is opened) each call gets a socket of its own, kept nowhere:
 * a server renders pages for many people and paths.
 */
export function sharedSocket<Protocol extends SocketProtocol>(path: string, options: SharedSocketOptions = {}): ChannelSocket<Protocol> {
  if (typeof window === 'undefined') return new ChannelSocket<Protocol>({ ...options, url: path });
  let socket = shared.get(path);
  if (!socket) {
    // Sockets no component holds any more, closed, are forgotten: a page that has visited many
    // rooms keeps only those it still shows.
    for (const [known, idle] of shared) if (idle.holders === 0 && idle.getSnapshot().status === 'closed') shared.delete(known);
    socket = new ChannelSocket<SocketProtocol>({ ...options, url: path });
    shared.set(path, socket);
  }
  return socket as unknown as ChannelSocket<Protocol>;
}

/**
 * The shared socket to `path`, held open while the component is mounted. Re-renders never
 * reconnect.
 */
export function useChannelSocket<Protocol extends SocketProtocol>(path: string, options?: SharedSocketOptions): ChannelSocket<Protocol> {
  const socket = sharedSocket<Protocol>(path, options);
  useEffect(() => {
    socket.hold();
    return () => socket.release();
  }, [socket]);
  return socket;
}

/** A socket's status, retry time, final close and transport (see {@link SocketSnapshot}), as React state. */
export function useSocketStatus<Protocol extends SocketProtocol>(socket: ChannelSocket<Protocol>): SocketSnapshot {
  return useSyncExternalStore(socket.subscribe, socket.getSnapshot, () => SERVER_SNAPSHOT);
}

/** What {@link useSocket} gives a component: the socket's state, and its methods bound. */
export interface UseSocket<Protocol extends SocketProtocol> extends SocketSnapshot {
  /** The shared socket itself, for {@link useLatest}, {@link usePresence} and {@link useRequest}. */
  readonly socket: ChannelSocket<Protocol>;
  /** Sends a frame; see `ChannelSocket.send`. */
  readonly send: (frame: Protocol['client']) => boolean;
}

/** The shared socket to `path`, held while mounted, with its state and `send`. */
export function useSocket<Protocol extends SocketProtocol>(path: string, options?: SharedSocketOptions): UseSocket<Protocol> {
  const socket = useChannelSocket<Protocol>(path, options);
  const snapshot = useSocketStatus(socket);
  const send = useCallback((frame: Protocol['client']) => socket.send(frame), [socket]);
  return { ...snapshot, socket, send };
}

/** The latest frame of `type` the socket received: a live value (`undefined` before the first). */
export function useLatest<Protocol extends SocketProtocol, K extends Protocol['server']['type']>(
  socket: ChannelSocket<Protocol>,
  type: K,
): Extract<Protocol['server'], OfType<K>> | undefined {
  const subscribe = useCallback((changed: () => void) => socket.on(type, changed), [socket, type]);
  return useSyncExternalStore(
    subscribe,
    () => socket.latest(type),
    () => undefined,
  );
}

/**
 * Who is in `group`, as the consumer tracks it (`this.track(group, key, meta)`): one entry per
 * key, sorted by key; empty until the first list and while disconnected.
 */
export function usePresence<Protocol extends SocketProtocol>(socket: ChannelSocket<Protocol>, group: string): readonly PresenceEntry[] {
  const target = socket;
  const subscribe = useCallback(
    (changed: () => void) =>
      target.onPresence((which) => {
        if (which === group) changed();
      }),
    [target, group],
  );
  return useSyncExternalStore(
    subscribe,
    () => target.presence(group),
    () => NO_ENTRIES,
  );
}

/** Where the latest request of a {@link useRequest} stands. */
export type RequestState<Reply> =
  | {
      /** Nothing asked yet. */
      readonly status: 'idle';
    }
  | {
      /** Asked; no answer yet. */
      readonly status: 'pending';
    }
  | {
      /** Answered. */
      readonly status: 'done';
      /** The consumer's reply. */
      readonly reply: Reply;
    }
  | {
      /** Refused, timed out or cut off. */
      readonly status: 'failed';
      /** Why. */
      readonly error: RequestError;
    };

/** What {@link useRequest} gives a component. */
export interface UseRequest<Frame, Reply> {
  /** Sends `frame` as a request; resolves with the reply (and rejects as `ChannelSocket.request` does). */
  readonly run: (frame: Frame, options?: RequestOptions) => Promise<Reply>;
  /** Where the latest request stands. */
  readonly state: RequestState<Reply>;
}

/**
 * Requests of one frame type with their answers, as React state: `run(frame)` sends it as a
 * request (see `ChannelSocket.request`) and resolves with the reply; `state` follows the latest
 * request (an earlier one that settles later does not change it).
 */
export function useRequest<Protocol extends SocketProtocol, K extends Protocol['client']['type']>(
  socket: ChannelSocket<Protocol>,
  _type: K,
): UseRequest<Extract<Protocol['client'], OfType<K>>, ReplyOf<Protocol, K>> {
  const [state, setState] = useState<RequestState<ReplyOf<Protocol, K>>>({ status: 'idle' });
  const latest = useRef(0);
  const run = useCallback(
    async (frame: Extract<Protocol['client'], OfType<K>>, options?: RequestOptions) => {
      const mine = ++latest.current;
      setState({ status: 'pending' });
      try {
        const reply = await socket.request<K>(frame, options);
        if (mine === latest.current) setState({ status: 'done', reply });
        return reply;
      } catch (error) {
        const failure = error instanceof RequestError ? error : new RequestError('failed', String(error));
        if (mine === latest.current) setState({ status: 'failed', error: failure });
        throw failure;
      }
    },
    [socket],
  );
  return { run, state };
}

export { ChannelSocket, RequestError, type PresenceEntry, type RequestOptions, type SocketSnapshot } from '../client/channel-socket';
export type { Transport } from '../client/transport-choice';
