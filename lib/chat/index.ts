/** The chat domain: its consumer, service, identity and store, over lib/channels. */
export { ChatService, messageFrame, roomGroup, type ChatEvents, type PostResult } from './chat-service';
export { ChatConsumer, type ChatConsumerOptions } from './consumer';
export { MAX_DISPLAY_NAME_CHARS, newGuest, normaliseDisplayName, SYSTEM_USER } from './identity';
export { chatApplication, type ChatApplicationOptions } from './routing';
export { chatRuntime, installChatRuntime, uninstallChatRuntime, type ChatRuntime } from './runtime';
export { LocalPresence, type Presence } from './presence';
export { MemoryMessageStore } from './store/memory';
export { SqliteMessageStore } from './store/sqlite';
export type { MessagePage, MessageStore, NewMessage, StoredMessage } from './store/types';
