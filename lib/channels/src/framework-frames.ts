/**
 * The framework's own frames, beside an application's: JSON objects whose first member is `"$"`,
 * written exactly as `{"$":"<verb>"...}`. Every consumer answers them without application code,
 * and `ChannelSocket` speaks them; an application's frames never start with those six
 * characters (`sendJson` and `ChannelSocket.send` refuse an object with a `$` member). Shared by
 * the server and the browser client, so it imports nothing.
 */

/** The six characters every framework frame starts with. */
export const FRAMEWORK_FRAME_PREFIX = '{"$":"';

/** A request reference: what the client numbers its requests with. */
const REQUEST_REF = /^[A-Za-z0-9_-]{1,32}$/;

/** Error codes of the framework's replies and error frames (see docs/protocol.md). */
export type FrameworkErrorCode =
  /** The framework frame could not be read (bad JSON, a missing or malformed member). */
  | 'bad_frame'
  /** A `$` verb this server does not know. */
  | 'unknown_type'
  /** The request's frame failed the consumer's validation. */
  | 'invalid_frame'
  /** The consumer handled the request without answering it. */
  | 'no_reply'
  /** Too many framework frames from this connection. */
  | 'rate_limited'
  /** The consumer refused the request (its own code may be anything; these are the framework's). */
  | (string & {});

/** A framework frame from the client. */
export type ClientFrameworkFrame =
  | { readonly $: 'ping' }
  /** A request: `text` is the application's frame, as the consumer's `receive` gets it. */
  | { readonly $: 'req'; readonly ref: string; readonly text: string };

/** A framework frame from the server. */
export type ServerFrameworkFrame =
  | { readonly $: 'pong' }
  | { readonly $: 'reply'; readonly ref: string; readonly ok: true; readonly body: unknown }
  | { readonly $: 'reply'; readonly ref: string; readonly ok: false; readonly code: string; readonly detail: string }
  | { readonly $: 'error'; readonly code: string; readonly detail: string }
  | { readonly $: 'presence'; readonly group: string; readonly entries: readonly PresenceEntryFrame[] }
  | {
      readonly $: 'presence_diff';
      readonly group: string;
      readonly joins: readonly PresenceEntryFrame[];
      readonly leaves: readonly string[];
    };

/** One entry of a presence list on the wire: one per key, however many connections it has. */
export interface PresenceEntryFrame {
  /** Who (or what) is present: a user id, usually. */
  readonly key: string;
  /** What the newest connection of the key said about itself. */
  readonly meta: Readonly<Record<string, unknown>>;
}

/** Whether a text frame is the framework's (it starts `{"$":"`). */
export function isFrameworkFrame(text: string): boolean {
  return text.startsWith(FRAMEWORK_FRAME_PREFIX);
}

/**
 * A client's framework frame as far as it could be read: its verb, and the request's `ref` and
 * `text` when they are well formed (`null` otherwise); `null` when it is not a JSON object with a
 * string `$`. A request with a good `ref` and a bad `text` can still be answered under its ref.
 */
export function parseClientFrameworkFrame(text: string): { readonly verb: string; readonly ref: string | null; readonly text: string | null } | null {
  const value = parseObject(text);
  if (value === null || typeof value.$ !== 'string') return null;
  return {
    verb: value.$,
    ref: typeof value.ref === 'string' && REQUEST_REF.test(value.ref) ? value.ref : null,
    text: typeof value.text === 'string' ? value.text : null,
  };
}

/** A server's framework frame, or `null` when it is not a well-formed one. */
export function parseServerFrameworkFrame(text: string): ServerFrameworkFrame | null {
  const value = parseObject(text);
  if (value === null) return null;
  switch (value.$) {
    case 'pong':
      return { $: 'pong' };
    case 'reply':
      if (typeof value.ref !== 'string') return null;
      if (value.ok === true) return { $: 'reply', ref: value.ref, ok: true, body: value.body ?? null };
      return { $: 'reply', ref: value.ref, ok: false, code: String(value.code ?? 'error'), detail: String(value.detail ?? '') };
    case 'error':
      return { $: 'error', code: String(value.code ?? 'error'), detail: String(value.detail ?? '') };
    case 'presence':
      if (typeof value.group !== 'string' || !Array.isArray(value.entries)) return null;
      return { $: 'presence', group: value.group, entries: value.entries.filter(isPresenceEntry) };
    case 'presence_diff':
      if (typeof value.group !== 'string' || !Array.isArray(value.joins) || !Array.isArray(value.leaves)) return null;
      return {
        $: 'presence_diff',
        group: value.group,
        joins: value.joins.filter(isPresenceEntry),
        leaves: value.leaves.filter((key): key is string => typeof key === 'string'),
      };
    default:
      return null;
  }
}

/** A request frame, as the client sends it. */
export function requestFrame(ref: string, text: string): string {
  return JSON.stringify({ $: 'req', ref, text });
}

function isPresenceEntry(value: unknown): value is PresenceEntryFrame {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { key?: unknown }).key === 'string' &&
    typeof (value as { meta?: unknown }).meta === 'object' &&
    (value as { meta?: unknown }).meta !== null
  );
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}
