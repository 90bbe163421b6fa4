/**
 * Wire protocol v1 of the chat: the frames both sides exchange and their validation. This module
 * runs in the browser as well as on the server, so it imports nothing from Node.
 * See docs/protocol.md for the prose version.
 */

export const PROTOCOL_VERSION = 1;
export const DEFAULT_ROOM = 'lobby';
export const ROOM_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Longest chat message, in Unicode code points (so one Chinese character counts as one). */
export const MAX_MESSAGE_CHARS = 2000;
export const HISTORY_PAGE_SIZE = 50;
export const MAX_HISTORY_PAGE_SIZE = 100;
/** A client-chosen idempotency key: a UUID or anything of the same alphabet. */
export const CLIENT_ID = /^[A-Za-z0-9_.:-]{1,100}$/;
const MESSAGE_ID = /^[1-9][0-9]{0,18}$/;
/** An emoji of a reaction: at most this many UTF-16 code units (a family or a flag fits). */
export const MAX_EMOJI_UNITS = 32;
/** Emoji pictographs, their modifiers, joiners and selectors, and nothing else. */
const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Emoji_Component}|\u200d|\ufe0f|\u20e3)+$/u;
const EMOJI_PICTURE = /\p{Extended_Pictographic}|\p{Regional_Indicator}/u;
/** A reaction must be an emoji: pictographs (and flags), not words. */
export function isEmoji(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_EMOJI_UNITS && EMOJI.test(value) && EMOJI_PICTURE.test(value);
}

// ---- client → server ----

export type ClientFrame =
  | { readonly type: 'chat.message'; readonly message: string; readonly clientId?: string; readonly replyTo?: string }
  | { readonly type: 'chat.edit'; readonly id: string; readonly text: string; readonly clientId?: string }
  | { readonly type: 'chat.delete'; readonly id: string; readonly clientId?: string }
  | { readonly type: 'chat.react'; readonly id: string; readonly emoji: string; readonly on?: boolean; readonly clientId?: string }
  | { readonly type: 'typing' }
  | { readonly type: 'history'; readonly before?: string; readonly limit: number }
  | { readonly type: 'ping' }
  | { readonly type: 'read'; readonly id: string };

// ---- server → client (wire shapes, hence snake_case) ----

export type Limits = {
  readonly max_message_chars: number;
  readonly max_frame_bytes: number;
  readonly history_page_size: number;
  /** `null` when the server runs without a rate limit. */
  readonly rate: { readonly messages: number; readonly per_ms: number; readonly burst: number } | null;
  /** How long after sending it an author may edit a message (0: never). */
  readonly edit_window_ms: number;
};

export type WelcomeFrame = {
  readonly type: 'welcome';
  readonly protocol: typeof PROTOCOL_VERSION;
  readonly room: string;
  readonly user_id: string;
  readonly user: string;
  readonly limits: Limits;
};

export type ChatMessageFrame = {
  readonly type: 'chat.message';
  /** A positive decimal integer, increasing within the room: compare as integers. */
  readonly id: string;
  readonly room: string;
  readonly user_id: string;
  readonly user: string;
  readonly message: string;
  /** Milliseconds since the epoch. */
  readonly ts: number;
  readonly client_id?: string;
  /** The message it answers, quoted as it reads now (`message` '' and `deleted` once deleted). */
  readonly reply_to?: ReplyQuoteFrame;
  /** When it was last edited (ms since the epoch). */
  readonly edited_at?: number;
  /** Deleted: `message` is '', a tombstone. */
  readonly deleted?: true;
  /** Reactions, one entry per emoji: how many, and the first few people (`user_ids`). */
  readonly reactions?: readonly ReactionFrameCount[];
};

export type ReplyQuoteFrame = { readonly id: string; readonly user_id: string; readonly user: string; readonly text: string; readonly deleted?: true };
export type ReactionFrameCount = { readonly emoji: string; readonly count: number; readonly user_ids: readonly string[] };

/**
 * An event about an earlier message (`target`), with its own id in the room's order. None has a
 * `message` field: a client that reads only `data.message` never takes one for a new message.
 */
type EventFrameBase = {
  readonly id: string;
  readonly room: string;
  readonly target: string;
  readonly user_id: string;
  readonly user: string;
  readonly ts: number;
};
/** The target's text is now `text`. */
export type EditFrame = EventFrameBase & { readonly type: 'chat.edit'; readonly text: string };
/** The target is deleted: show a tombstone, never its text. */
export type DeleteFrame = EventFrameBase & { readonly type: 'chat.delete' };
/** `user_id` put on (`on`) or took off `emoji`; `count` people have it now. */
export type ReactionFrame = EventFrameBase & { readonly type: 'chat.reaction'; readonly emoji: string; readonly on: boolean; readonly count: number };
export type EventFrame = EditFrame | DeleteFrame | ReactionFrame;

export type HistoryFrame = {
  readonly type: 'history';
  /** Oldest first, each in its current state. */
  readonly messages: readonly ChatMessageFrame[];
  /**
   * On a resume: the edits, deletions and reactions after the `after` id, oldest first, to apply
   * once `messages` are in (absent when none: a client that knows nothing of them misses nothing).
   */
  readonly events?: readonly EventFrame[];
  readonly has_more: boolean;
  readonly reset?: true;
  /** The room's newest id when the page was read: every event up to it is folded into `messages`. */
  readonly head?: string;
};

export type PresenceUser = { readonly user_id: string; readonly user: string };
export type PresenceFrame = { readonly type: 'presence'; readonly users: readonly PresenceUser[] };
export type TypingFrame = { readonly type: 'typing'; readonly user_id: string; readonly user: string };
export type PongFrame = { readonly type: 'pong' };

export const ERROR_CODES = {
  bad_json: 'permanent',
  invalid_message: 'permanent',
  unknown_type: 'permanent',
  too_long: 'permanent',
  not_found: 'permanent',
  forbidden: 'permanent',
  too_late: 'permanent',
  deleted: 'permanent',
  too_many_reactions: 'permanent',
  rate_limited: 'transient',
  unavailable: 'transient',
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export type ErrorFrame = {
  readonly type: 'error';
  readonly code: ErrorCode;
  readonly detail: string;
  readonly client_id?: string;
};

/** Sent on `/ws/notifications/`: something for this person, wherever they are in the app. */
export type NotificationFrame = {
  readonly type: 'notification';
  /** `mention` (someone wrote @name), or what the app that sent it says. */
  readonly kind: string;
  /** In English; a client that knows `kind` may compose its own from the fields below. */
  readonly title: string;
  readonly body: string;
  /** The room it points to, if any. */
  readonly room?: string;
  readonly message_id?: string;
  readonly ts: number;
  /** A `mention`'s author, by display name. */
  readonly from?: string;
  /** A `mention`'s room kind: the title is `#room`, the private room's title, or "a direct message". */
  readonly room_kind?: 'public' | 'private' | 'direct';
  /** A `mention` in a private room: its title. */
  readonly room_title?: string;
};

/** Sent on `/ws/notifications/`: the message a notification pointed to was deleted; take it away. */
export type RetractFrame = {
  readonly type: 'notification.retract';
  readonly room: string;
  readonly message_id: string;
};

/**
 * A person has read the room up to `id` (a message or event id): sent on join (their own marker;
 * in private rooms and direct messages every member's), and whenever a marker moves, to that
 * person's connections to the room and, in private rooms and direct messages, to every member.
 */
export type ReadFrame = {
  readonly type: 'read';
  readonly user_id: string;
  readonly id: string;
};

/** The @names of one message that count: the first ten different ones. */
export const MAX_MENTIONS = 10;

/** The @names in a message (`@` and what follows up to a space or punctuation), the first `MAX_MENTIONS` different ones. */
export function mentionedNames(text: string): string[] {
  const names = new Set<string>();
  if (!text.includes('@')) return [];
  for (const match of text.matchAll(/(?:^|[^\p{L}\p{N}_])@([\p{L}\p{M}\p{N}_-]{1,32})/gu)) {
    names.add(match[1]!);
    if (names.size === MAX_MENTIONS) break;
  }
  return [...names];
}

/** A display name as a mention matches it: case and spaces ignored (`@BraveOtter42`). */
export function mentionKey(name: string): string {
  return name.normalize('NFC').toLowerCase().replace(/\s+/gu, '');
}

export type ServerFrame =
  | NotificationFrame
  | RetractFrame
  | EditFrame
  | DeleteFrame
  | ReactionFrame
  | WelcomeFrame
  | ChatMessageFrame
  | HistoryFrame
  | PresenceFrame
  | TypingFrame
  | PongFrame
  | ReadFrame
  | ErrorFrame;

/** Permanent errors mean "do not send this again"; transient ones "retry later". */
export function isPermanentError(code: ErrorCode): boolean {
  return ERROR_CODES[code] === 'permanent';
}

export function isValidRoomName(room: string): boolean {
  return ROOM_NAME.test(room);
}

/** Length in Unicode code points, stopping early once past `limit`. */
export function codePointLength(text: string, limit = Number.POSITIVE_INFINITY): number {
  let count = 0;
  for (let index = 0; index < text.length && count <= limit; index++) {
    const unit = text.charCodeAt(index);
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length) {
      const next = text.charCodeAt(index + 1);
      if (next >= 0xdc00 && next <= 0xdfff) index++;
    }
    count++;
  }
  return count;
}

/** Compares two message ids numerically (they may exceed 2^53, so not through Number). */
export function compareMessageIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function isMessageId(value: unknown): value is string {
  return typeof value === 'string' && MESSAGE_ID.test(value);
}

export type ParseResult = { readonly ok: true; readonly frame: ClientFrame } | { readonly ok: false; readonly error: ErrorFrame };

/** Parses and validates one text frame from a client. */
export function parseClientFrame(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return failure('bad_json', 'frames must be JSON text');
  }
  return validateClientFrame(value);
}

/**
 * Validates a parsed client frame. Unknown fields are ignored (a client cannot set `user` or
 * `user_id`: they come from the session); a `client_id` is echoed in the error when it is valid.
 */
export function validateClientFrame(value: unknown): ParseResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return failure('invalid_message', 'a frame must be a JSON object');
  }
  const fields = value as Record<string, unknown>;
  const type = Object.hasOwn(fields, 'type') ? fields.type : undefined;
  const clientId = readClientId(fields);
  if (clientId === null) return failure('invalid_message', 'client_id must match [A-Za-z0-9_.:-]{1,100}');

  switch (type) {
    case undefined:
    case 'chat.message': {
      const message = Object.hasOwn(fields, 'message') ? fields.message : undefined;
      if (typeof message !== 'string') {
        return failure('invalid_message', 'message must be a string', clientId);
      }
      const refused = checkText(message, 'message', clientId);
      if (refused) return refused;
      const replyTo = Object.hasOwn(fields, 'reply_to') ? fields.reply_to : undefined;
      if (replyTo !== undefined && !isMessageId(replyTo)) return failure('invalid_message', 'reply_to must be a message id (a positive integer as a string)', clientId);
      return {
        ok: true,
        frame: { type: 'chat.message', message, ...(clientId === undefined ? {} : { clientId }), ...(replyTo === undefined ? {} : { replyTo }) },
      };
    }
    case 'chat.edit':
    case 'chat.delete':
    case 'chat.react': {
      const id = Object.hasOwn(fields, 'id') ? fields.id : undefined;
      if (!isMessageId(id)) return failure('invalid_message', 'id must be a message id (a positive integer as a string)', clientId);
      const echo = clientId === undefined ? {} : { clientId };
      if (type === 'chat.delete') return { ok: true, frame: { type, id, ...echo } };
      if (type === 'chat.edit') {
        const text = Object.hasOwn(fields, 'text') ? fields.text : undefined;
        if (typeof text !== 'string') return failure('invalid_message', 'text must be a string', clientId);
        const refused = checkText(text, 'text', clientId);
        if (refused) return refused;
        return { ok: true, frame: { type, id, text, ...echo } };
      }
      const emoji = Object.hasOwn(fields, 'emoji') ? fields.emoji : undefined;
      if (!isEmoji(emoji)) return failure('invalid_message', `emoji must be one emoji (at most ${MAX_EMOJI_UNITS} UTF-16 code units)`, clientId);
      const on = Object.hasOwn(fields, 'on') ? fields.on : undefined;
      if (on !== undefined && typeof on !== 'boolean') return failure('invalid_message', 'on must be true or false', clientId);
      return { ok: true, frame: { type, id, emoji, ...(on === undefined ? {} : { on }), ...echo } };
    }
    case 'typing':
      return { ok: true, frame: { type: 'typing' } };
    case 'ping':
      return { ok: true, frame: { type: 'ping' } };
    case 'read': {
      const id = Object.hasOwn(fields, 'id') ? fields.id : undefined;
      if (!isMessageId(id)) return failure('invalid_message', 'id must be a message id (a positive integer as a string)');
      return { ok: true, frame: { type: 'read', id } };
    }
    case 'history': {
      const before = Object.hasOwn(fields, 'before') ? fields.before : undefined;
      const limit = Object.hasOwn(fields, 'limit') ? fields.limit : HISTORY_PAGE_SIZE;
      if (before !== undefined && !isMessageId(before)) {
        return failure('invalid_message', 'before must be a message id (a positive integer as a string)');
      }
      if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_PAGE_SIZE) {
        return failure('invalid_message', `limit must be an integer from 1 to ${MAX_HISTORY_PAGE_SIZE}`);
      }
      return { ok: true, frame: before === undefined ? { type: 'history', limit } : { type: 'history', before, limit } };
    }
    default:
      return failure(
        'unknown_type',
        typeof type === 'string'
          ? `unknown frame type ${JSON.stringify(type.slice(0, 50))}; expected chat.message, chat.edit, chat.delete, chat.react, typing, history, read or ping`
          : 'type must be a string',
        clientId,
      );
  }
}

/** A message's or an edit's text: not empty, no NUL, at most `MAX_MESSAGE_CHARS`; `null` when fine. */
function checkText(text: string, field: string, clientId: string | undefined): ParseResult | null {
  if (text.trim() === '') return failure('invalid_message', `${field} is empty`, clientId);
  // Not a character anyone types, and PostgreSQL cannot store it in text.
  if (text.includes('\u0000')) return failure('invalid_message', `${field} must not contain the NUL character (U+0000)`, clientId);
  if (codePointLength(text, MAX_MESSAGE_CHARS) > MAX_MESSAGE_CHARS) {
    return failure('too_long', `${field} is longer than ${MAX_MESSAGE_CHARS} characters`, clientId);
  }
  return null;
}

/** The `client_id` of a frame: `undefined` when absent, `null` when present but malformed. */
function readClientId(fields: Record<string, unknown>): string | undefined | null {
  if (!Object.hasOwn(fields, 'client_id')) return undefined;
  const value = fields.client_id;
  return typeof value === 'string' && CLIENT_ID.test(value) ? value : null;
}

function failure(code: ErrorCode, detail: string, clientId?: string): ParseResult {
  return { ok: false, error: errorFrame(code, detail, clientId) };
}

export function errorFrame(code: ErrorCode, detail: string, clientId?: string): ErrorFrame {
  return clientId === undefined ? { type: 'error', code, detail } : { type: 'error', code, detail, client_id: clientId };
}

/**
 * Reads a frame from the server, checking only what a client relies on (its `type`, and for chat
 * messages the fields it renders). Returns `null` for anything else, which a client ignores.
 */
export function parseServerFrame(text: string): ServerFrame | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const frame = value as { type?: unknown };
  switch (frame.type) {
    case 'chat.message':
      return isChatMessageFrame(frame) ? frame : null;
    case 'history': {
      const history = frame as { messages?: unknown; events?: unknown; has_more?: unknown };
      if (!Array.isArray(history.messages) || !history.messages.every(isChatMessageFrame) || typeof history.has_more !== 'boolean') return null;
      // Events this client cannot read are left out, never the messages.
      if (history.events !== undefined) {
        const events = Array.isArray(history.events) ? history.events.filter(isEventFrame) : [];
        return { ...(history as HistoryFrame), events };
      }
      return history as HistoryFrame;
    }
    case 'chat.edit':
    case 'chat.delete':
    case 'chat.reaction':
      return isEventFrame(frame) ? frame : null;
    case 'read': {
      const read = frame as { user_id?: unknown; id?: unknown };
      return typeof read.user_id === 'string' && isMessageId(read.id) ? (frame as ReadFrame) : null;
    }
    case 'notification.retract':
    case 'notification':
    case 'welcome':
    case 'presence':
    case 'typing':
    case 'pong':
    case 'error':
      return frame as ServerFrame;
    default:
      return null;
  }
}

function isEventFrame(value: unknown): value is EventFrame {
  if (typeof value !== 'object' || value === null) return false;
  const frame = value as Record<string, unknown>;
  const base = isMessageId(frame.id) && isMessageId(frame.target) && typeof frame.user_id === 'string' && typeof frame.user === 'string' && typeof frame.ts === 'number';
  if (!base) return false;
  switch (frame.type) {
    case 'chat.edit':
      return typeof frame.text === 'string';
    case 'chat.delete':
      return true;
    case 'chat.reaction':
      return typeof frame.emoji === 'string' && typeof frame.on === 'boolean' && typeof frame.count === 'number';
    default:
      return false;
  }
}

function isChatMessageFrame(value: unknown): value is ChatMessageFrame {
  if (typeof value !== 'object' || value === null) return false;
  const frame = value as Record<string, unknown>;
  return (
    frame.type === 'chat.message' &&
    isMessageId(frame.id) &&
    typeof frame.room === 'string' &&
    typeof frame.user_id === 'string' &&
    typeof frame.user === 'string' &&
    typeof frame.message === 'string' &&
    typeof frame.ts === 'number'
  );
}
