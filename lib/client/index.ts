/** The browser side of the chat: a framework-free client, and the React hook over it. */
export { exponentialBackoff, type Backoff, type BackoffOptions } from './backoff';
export {
  ChatClient,
  CONNECTION_STATUSES,
  type ChatClientOptions,
  type ChatSnapshot,
  type ConnectionStatus,
  type FailedMessage,
  type PendingMessage,
  type Timers,
  type WakeUpSignals,
  type WebSocketFactory,
  type WebSocketLike,
} from './chat-client';
export { chatSocketUrl, useChatSocket, type ChatSocket, type UseChatSocketOptions } from './use-chat-socket';
