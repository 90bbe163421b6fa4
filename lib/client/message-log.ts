import { type ChatMessageFrame, compareMessageIds } from '../chat/protocol';

/**
 * The messages shown: unique by id and in id order, whatever order they arrive in (history pages,
 * resumes, live messages from several servers). `messages` is a new array after each change, so
 * React sees the change.
 */
export class MessageLog {
  #messages: readonly ChatMessageFrame[] = [];
  readonly #ids = new Set<string>();

  get messages(): readonly ChatMessageFrame[] {
    return this.#messages;
  }

  get oldest(): ChatMessageFrame | undefined {
    return this.#messages[0];
  }

  get newest(): ChatMessageFrame | undefined {
    return this.#messages.at(-1);
  }

  /**
   * The newest message before the first gap. Ids in a room run 1, 2, 3, ... without gaps, so a
   * gap is a message this client missed (live messages from several servers can overtake one
   * another, and one may have been lost); a resume must start below it.
   */
  get resumeAfter(): ChatMessageFrame | undefined {
    const messages = this.#messages;
    let index = 0;
    while (index + 1 < messages.length && BigInt(messages[index + 1]!.id) === BigInt(messages[index]!.id) + 1n) index++;
    return messages[index];
  }

  /** Adds a message in its place; false when it was already there. */
  add(message: ChatMessageFrame): boolean {
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

  clear(): void {
    this.#messages = [];
    this.#ids.clear();
  }
}
