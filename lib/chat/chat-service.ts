import type { ChannelLayer, Logger, SessionUser } from '../channels';
import { notifyName } from './notifications';
import { type ChatMessageFrame, type HistoryFrame, mentionedNames, mentionKey, type TypingFrame } from './protocol';
import type { ChatMetrics, StoreOperation } from './metrics';
import type { MessageStore, StoredMessage } from './store/types';

/** The layer events of the chat, by type: what travels from one connection to its room. */
export type ChatEvents = {
  'chat.message': { readonly frame: ChatMessageFrame };
  'chat.typing': { readonly frame: TypingFrame };
};

/** The channel-layer group of a room's connections. */
export function roomGroup(room: string): string {
  return `chat.${room}`;
}

/** Rooms whose group list is shared by their consumers (the most recently joined). */
const SHARED_GROUP_LISTS = 1_000;
const groupLists = new Map<string, readonly string[]>();

/** A room's consumers' groups: one array and one name per room, not per connection. */
export function roomGroups(room: string): readonly string[] {
  let groups = groupLists.get(room);
  if (groups === undefined) {
    groups = Object.freeze([roomGroup(room)]);
    if (groupLists.size >= SHARED_GROUP_LISTS) groupLists.delete(groupLists.keys().next().value!);
    groupLists.set(room, groups);
  }
  return groups;
}

export function messageFrame(message: StoredMessage): ChatMessageFrame {
  const frame = {
    type: 'chat.message',
    id: message.id,
    room: message.room,
    user_id: message.userId,
    user: message.user,
    message: message.text,
    ts: message.ts,
  } as const;
  return message.clientId === undefined ? frame : { ...frame, client_id: message.clientId };
}

export interface PostResult {
  readonly frame: ChatMessageFrame;
  /** False when the idempotency key matched an earlier message, which was not sent again. */
  readonly created: boolean;
}

/**
 * Posting and reading messages, shared by the chat consumer and the HTTP routes: a message is
 * stored first and broadcast to its room only once the store has it.
 */
export class ChatService {
  readonly #store: MessageStore;
  readonly #layer: ChannelLayer;
  readonly #logger: Logger;
  readonly #metrics: ChatMetrics | null;

  constructor(options: { store: MessageStore; layer: ChannelLayer; logger: Logger; metrics?: ChatMetrics }) {
    this.#store = options.store;
    this.#layer = options.layer;
    this.#logger = options.logger;
    this.#metrics = options.metrics ?? null;
  }

  /** Runs a store call, timed when there are metrics. */
  #timed<T>(operation: StoreOperation, work: () => Promise<T>): Promise<T> {
    return this.#metrics ? this.#metrics.timeStore(operation, work) : work();
  }

  /** Stores a message and sends it to everyone in the room; a repeat of a `clientId` is not sent again. */
  async post(room: string, author: SessionUser, text: string, clientId?: string): Promise<PostResult> {
    const { message, created } = await this.#timed('append', () =>
      this.#store.append({
        room,
        userId: author.id,
        user: author.name,
        text,
        ...(clientId === undefined ? {} : { clientId }),
      }),
    );
    const frame = messageFrame(message);
    if (created) {
      this.#metrics?.stored();
      try {
        const send = () => this.#layer.groupSend(roomGroup(room), { type: 'chat.message', frame });
        await (this.#metrics ? this.#metrics.timeLayer(send) : send());
      } catch (error) {
        // Stored, so acknowledged; the room's other members fill the gap when they resume.
        this.#logger.error('broadcast failed after store', { room, id: message.id, error });
      }
      await this.#notifyMentions(frame);
    }
    return { frame, created };
  }

  /** Tells everyone @mentioned in a message, wherever they are, except its author. */
  async #notifyMentions(frame: ChatMessageFrame): Promise<void> {
    const author = mentionKey(frame.user);
    for (const name of mentionedNames(frame.message)) {
      if (mentionKey(name) === author) continue;
      await notifyName(this.#layer, name, {
        type: 'notification',
        kind: 'mention',
        title: `${frame.user} mentioned you in #${frame.room}`,
        body: [...frame.message].slice(0, 200).join(''),
        room: frame.room,
        message_id: frame.id,
        ts: frame.ts,
      }).catch((error: unknown) => this.#logger.warn('could not send a mention notification', { room: frame.room, error }));
    }
  }

  async history(room: string, limit: number, before?: string): Promise<HistoryFrame> {
    const page = await this.#timed('history', () => (before === undefined ? this.#store.latest(room, limit) : this.#store.before(room, before, limit)));
    return { type: 'history', messages: page.messages.map(messageFrame), has_more: page.hasMore };
  }

  /**
   * Everything after `after`, oldest first, as history frames of at most `pageSize` messages
   * (at least one frame); `null` when the room never reached `after` (the store was reset).
   */
  async since(room: string, after: string, pageSize: number): Promise<HistoryFrame[] | null> {
    const frames: HistoryFrame[] = [];
    let cursor = after;
    for (;;) {
      const from = cursor;
      const page = await this.#timed('since', () => this.#store.after(room, from, pageSize));
      if (page === null) return null;
      // Older messages exist: at least the one the client resumes after.
      frames.push({ type: 'history', messages: page.map(messageFrame), has_more: true });
      const last = page.at(-1);
      if (page.length < pageSize || last === undefined) return frames;
      cursor = last.id;
    }
  }
}
