import { type ChatMessageFrame, compareMessageIds, type EventFrame, type ReactionFrameCount } from '../chat/protocol';

/** People listed per emoji, as the server lists them (it counts them all). */
const REACTORS_LISTED = 20;
/** A reply quotes this many code points of its parent, as the server quotes it (docs/protocol.md). */
const QUOTE_CHARS = 100;

/** How a reply quotes a text: its first 100 code points, and "…" when cut (as the server does). */
export function quoteSnippet(text: string): string {
  const points = Array.from(text.slice(0, QUOTE_CHARS * 2 + 2));
  return points.length > QUOTE_CHARS ? `${points.slice(0, QUOTE_CHARS).join('')}…` : text;
}

/**
 * The messages shown: unique by id and in id order, whatever order they arrive in (history pages,
 * resumes, live messages from several servers), each in its latest state: edits, deletions and
 * reactions are applied to the message they are about. `messages` is a new array after each
 * change, so React sees the change.
 *
 * Ids in a room run 1, 2, 3, ... without gaps across messages and events, so the log also keeps
 * how far it has everything (`resumeAfter`): a resume must start there, below any gap.
 */
export class MessageLog {
  #messages: readonly ChatMessageFrame[] = [];
  readonly #ids = new Set<string>();
  /** Every id up to this one has been taken in (messages and events); `null` before the first. */
  #contiguous: bigint | null = null;
  /** Ids taken in above `#contiguous`, out of order. */
  readonly #above = new Set<bigint>();

  get messages(): readonly ChatMessageFrame[] {
    return this.#messages;
  }

  get oldest(): ChatMessageFrame | undefined {
    return this.#messages[0];
  }

  get newest(): ChatMessageFrame | undefined {
    return this.#messages.at(-1);
  }

  /** The id to resume after: the newest before the first gap (a message or event this client missed). */
  get resumeAfter(): string | undefined {
    return this.#contiguous === null || this.#contiguous === 0n ? undefined : this.#contiguous.toString();
  }

  /**
   * A page that reflects the room up to `head` (the join page, a reset): every id up to it is
   * taken in, folded into the page's messages.
   */
  reached(head: string): void {
    const value = BigInt(head);
    if (this.#contiguous === null || value > this.#contiguous) this.#contiguous = value;
    this.#drain();
  }

  /**
   * Adds a message in its place; false when it was already there (the one shown stays: it has
   * every event this client was sent applied). `live`: it came in the room's order (live or on a
   * resume), so it counts towards `resumeAfter`; a page of older messages does not.
   */
  add(message: ChatMessageFrame, live = true): boolean {
    if (live) this.#note(message.id);
    if (this.#ids.has(message.id)) return false;
    this.#ids.add(message.id);
    const messages = this.#messages.slice();
    // Almost always at the end: walk back from there.
    let index = messages.length;
    while (index > 0 && compareMessageIds(messages[index - 1]!.id, message.id) > 0) index--;
    messages.splice(index, 0, message);
    this.#messages = messages;
    return true;
  }

  /**
   * Applies an edit, deletion or reaction to the message it is about (when shown); true when
   * anything shown changed. Applying one twice changes nothing more: a deleted message stays a
   * tombstone, an edit sets the text, a reaction sets the count and the person's presence.
   */
  apply(event: EventFrame): boolean {
    this.#note(event.id);
    const index = this.#messages.findIndex((message) => message.id === event.target);
    const target = this.#messages[index];
    const messages = this.#messages.slice();
    let changed = false;
    if (event.type === 'chat.delete') {
      // Replies quote it no more, wherever they are.
      messages.forEach((message, at) => {
        if (message.reply_to?.id === event.target && !message.reply_to.deleted) {
          messages[at] = { ...message, reply_to: { id: message.reply_to.id, user_id: message.reply_to.user_id, user: message.reply_to.user, text: '', deleted: true } };
          changed = true;
        }
      });
    }
    if (event.type === 'chat.edit' && !target?.deleted) {
      // Replies quote it as it reads now, as a page from the server would: the old text goes.
      const text = quoteSnippet(event.text);
      messages.forEach((message, at) => {
        if (message.reply_to?.id === event.target && !message.reply_to.deleted && message.reply_to.text !== text) {
          messages[at] = { ...message, reply_to: { ...message.reply_to, text } };
          changed = true;
        }
      });
    }
    if (target !== undefined && !target.deleted) {
      messages[index] = applyTo(target, event);
      changed = true;
    }
    if (changed) this.#messages = messages;
    return changed;
  }

  clear(): void {
    this.#messages = [];
    this.#ids.clear();
    this.#contiguous = null;
    this.#above.clear();
  }

  #note(id: string): void {
    const value = BigInt(id);
    if (this.#contiguous === null) this.#contiguous = value;
    else if (value === this.#contiguous + 1n) this.#contiguous = value;
    else if (value > this.#contiguous) this.#above.add(value);
    this.#drain();
  }

  #drain(): void {
    if (this.#contiguous === null) return;
    while (this.#above.delete(this.#contiguous + 1n)) this.#contiguous++;
    for (const id of this.#above) if (id <= this.#contiguous) this.#above.delete(id);
  }
}

/** A message with one event applied (it is not deleted). */
function applyTo(message: ChatMessageFrame, event: EventFrame): ChatMessageFrame {
  switch (event.type) {
    case 'chat.edit':
      return { ...message, message: event.text, edited_at: event.ts };
    case 'chat.delete': {
      const { reactions: _reactions, edited_at: _edited, ...rest } = message;
      return { ...rest, message: '', deleted: true };
    }
    case 'chat.reaction': {
      const reactions: ReactionFrameCount[] = [];
      let found = false;
      for (const reaction of message.reactions ?? []) {
        if (reaction.emoji !== event.emoji) {
          reactions.push(reaction);
          continue;
        }
        found = true;
        const others = reaction.user_ids.filter((userId) => userId !== event.user_id);
        const userIds = event.on ? [...others, event.user_id].slice(0, REACTORS_LISTED) : others;
        if (event.count > 0) reactions.push({ emoji: reaction.emoji, count: event.count, user_ids: userIds });
      }
      if (!found && event.on && event.count > 0) reactions.push({ emoji: event.emoji, count: event.count, user_ids: [event.user_id] });
      const { reactions: _old, ...rest } = message;
      return reactions.length === 0 ? rest : { ...rest, reactions };
    }
  }
}
