/**
 * next-channels/client: the browser side of any consumer. A {@link ChannelSocket} reconnects with
 * backoff, stops on the close codes that say why (sign in, not allowed), pings through the
 * framework's own frames, and carries typed frames, requests with answers and presence lists.
 * Where a network refuses the WebSocket upgrade it moves to an HTTP fallback of the same server
 * ({@link fallbackSocket}: server-sent events and POSTs), after {@link probeUpgrade} told that
 * apart from a server that is down.
 * No React and no Node imports: it runs in any browser (and in Node with `ws`).
 *
 * @packageDocumentation
 */
export {
  ChannelSocket,
  RequestError,
  SOCKET_STATUSES,
  type ChannelSocketOptions,
  type OfflinePolicy,
  type PresenceEntry,
  type RequestOptions,
  type SocketSnapshot,
  type SocketStatus,
} from './channel-socket';
export { FallbackSocket, fallbackSocket, type FallbackSocketOptions } from './fallback-socket';
export {
  browserTransportMemory,
  memoryTransportMemory,
  probeUpgrade,
  type FallbackMode,
  type ProbeUpgradeOptions,
  type StorageLike,
  type Transport,
  type TransportMemory,
  type UpgradeProbe,
} from './transport-choice';
export { exponentialBackoff, type Backoff, type BackoffOptions } from './backoff';
export {
  browserSocket,
  browserWakeUpSignals,
  globalFetch,
  globalTimers,
  socketUrl,
  type FetchLike,
  type Timers,
  type WakeUpSignals,
  type WebSocketFactory,
  type WebSocketLike,
} from './platform';
export { CloseCode, isFinalCloseCode } from '../close-codes';
export type { Frames, FrameMap, OfType, ReplyOf, SocketProtocol, TypedFrame } from '../protocol';
