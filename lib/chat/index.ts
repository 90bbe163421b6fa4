/** The chat domain: its consumer, service, identity and store, over lib/channels. */
export { openBackends, type BackendOptions, type Backends } from './backends';
export { ChatService, messageFrame, roomGroup, type ChatEvents, type PostResult } from './chat-service';
export { ChatConsumer, type ChatConsumerOptions } from './consumer';
export { ChatMetrics } from './metrics';
export { handleOpsRequest, type OpsDependencies } from './ops-routes';
export { MAX_DISPLAY_NAME_CHARS, newGuest, normaliseDisplayName, SYSTEM_USER } from './identity';
export { chatApplication, type ChatApplicationOptions } from './routing';
export { chatRuntime, installChatRuntime, uninstallChatRuntime, type ChatRuntime } from './runtime';
export { LocalPresence, type Presence, type PresenceSnapshot } from './presence';
export { RedisPresence, type RedisPresenceOptions } from './presence-redis';
export { MemoryMessageStore } from './store/memory';
export { PostgresMessageStore } from './store/postgres';
export { SqliteMessageStore } from './store/sqlite';
export type { MessagePage, MessageStore, NewMessage, StoredMessage } from './store/types';
