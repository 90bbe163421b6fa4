import type { ErrorCode } from '../chat/protocol';

/** A message typed here that the server has not acknowledged yet. */
export interface PendingMessage {
  readonly clientId: string;
  readonly text: string;
  /** The message it answers, when it is a reply. */
  readonly replyTo?: string;
  /** `queued`: waiting for a connection or a retry; `sent`: on the wire, waiting for its echo. */
  readonly state: 'queued' | 'sent';
}

/** A message the server refused for good (too long, invalid): it will not be sent again. */
export interface FailedMessage {
  readonly clientId: string;
  readonly text: string;
  readonly code: ErrorCode;
  readonly detail: string;
}

/**
 * What the user typed and the server has not stored yet, in the order it was typed. A message
 * leaves only when its echo arrives (acknowledged) or the server refuses it for good (failed);
 * everything else is sent again after a reconnect, under the same `client_id`, which the server
 * stores once. The lists are new arrays after each change, so React sees the change.
 */
export class Outbox {
  #pending: readonly PendingMessage[];
  #failed: readonly FailedMessage[] = [];

  /** Starts with messages kept from before (a reload of the page): they are sent again. */
  constructor(kept: readonly { readonly clientId: string; readonly text: string; readonly replyTo?: string }[] = []) {
    this.#pending = kept.map((entry) => ({
      clientId: entry.clientId,
      text: entry.text,
      ...(entry.replyTo === undefined ? {} : { replyTo: entry.replyTo }),
      state: 'queued',
    }));
  }

  get pending(): readonly PendingMessage[] {
    return this.#pending;
  }

  get failed(): readonly FailedMessage[] {
    return this.#failed;
  }

  add(clientId: string, text: string, replyTo?: string): PendingMessage {
    const pending: PendingMessage = { clientId, text, ...(replyTo === undefined ? {} : { replyTo }), state: 'queued' };
    this.#pending = [...this.#pending, pending];
    return pending;
  }

  /** The queued message under `clientId`, if it is still waiting. */
  queued(clientId: string): PendingMessage | undefined {
    return this.#pending.find((entry) => entry.clientId === clientId && entry.state === 'queued');
  }

  markSent(clientId: string): void {
    this.#setState(clientId, 'sent');
  }

  /** A transient refusal: keep it, to send again. */
  requeue(clientId: string): void {
    this.#setState(clientId, 'queued');
  }

  /** The connection dropped: whatever was on the wire may not have arrived. */
  requeueSent(): void {
    if (this.#pending.some((entry) => entry.state === 'sent')) {
      this.#pending = this.#pending.map((entry) => (entry.state === 'sent' ? { ...entry, state: 'queued' } : entry));
    }
  }

  /** Its echo arrived: the server has it. False when it was not here. */
  acknowledge(clientId: string): boolean {
    const before = this.#pending.length;
    this.#pending = this.#pending.filter((entry) => entry.clientId !== clientId);
    return this.#pending.length !== before;
  }

  /** Refused for good: out of the queue, into the failed list with the reason. */
  fail(clientId: string, code: ErrorCode, detail: string): boolean {
    const pending = this.#pending.find((entry) => entry.clientId === clientId);
    if (!pending) return false;
    this.#pending = this.#pending.filter((entry) => entry !== pending);
    this.#failed = [...this.#failed, { clientId, text: pending.text, code, detail }];
    return true;
  }

  dismiss(clientId: string): void {
    this.#failed = this.#failed.filter((failed) => failed.clientId !== clientId);
  }

  #setState(clientId: string, state: PendingMessage['state']): void {
    this.#pending = this.#pending.map((entry) => (entry.clientId === clientId && entry.state !== state ? { ...entry, state } : entry));
  }
}
