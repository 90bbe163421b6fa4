import type { StandardSchemaV1 } from '@standard-schema/spec';

/**
 * A frame with a `type`: the shape every typed frame of a {@link SocketProtocol} has, so a switch
 * on `frame.type` narrows it.
 */
export interface TypedFrame {
  /** What the frame is; the name a handler switches on. */
  readonly type: string;
}

/** The frames of type `K`: what `Extract<Frame, OfType<K>>` picks out of a union. */
export interface OfType<K extends string> {
  /** The frame type. */
  readonly type: K;
}

/** Frames one side sends, as a map: frame type → the fields besides `type`. */
export type FrameMap = { readonly [type: string]: object };

/**
 * The frames of a {@link FrameMap} as a union, each with its `type`:
 * `Frames<{ vote: { option: string } }>` is `{ type: 'vote'; option: string }`.
 */
export type Frames<M extends FrameMap> = { [K in keyof M & string]: OfType<K> & Readonly<M[K]> }[keyof M & string];

/**
 * What a consumer and its browser clients say to each other, written once and imported by both,
 * so a typo in a frame type or field fails to compile on either side:
 *
 * ```ts
 * export type PollProtocol = {
 *   client: Frames<{ vote: { option: string }; tally: {} }>;
 *   server: Frames<{ votes: { counts: Record<string, number> } }>;
 *   replies: { tally: { counts: Record<string, number> } };
 * };
 * ```
 *
 * `client` may also come from a schema (`z.infer<typeof ClientFrame>`), which a
 * `ProtocolConsumer` then uses to check what arrives.
 */
export interface SocketProtocol {
  /** Frames the client sends (a union of {@link TypedFrame}s). */
  readonly client: TypedFrame;
  /** Frames the server sends. */
  readonly server: TypedFrame;
  /** What a request of each client frame type is answered with (client frame type → reply body). */
  readonly replies?: { readonly [type: string]: unknown };
}

/** The reply to a request of client frame type `K` in protocol `P` (`unknown` when not declared). */
export type ReplyOf<P extends SocketProtocol, K extends string> = K extends keyof NonNullable<P['replies']> ? NonNullable<P['replies']>[K] : unknown;

/**
 * Checks a frame from the client: a Standard Schema (zod, valibot, ArkType…), or a function that
 * returns the frame when it is valid and `undefined` when not.
 */
export type FrameValidator<T> = StandardSchemaV1<unknown, T> | ((value: unknown) => T | undefined);

/** Why a frame failed its validator. */
export type Validation<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly detail: string };

/** Runs `validator` on `value` (a schema may answer asynchronously). */
export function validateFrame<T>(validator: FrameValidator<T>, value: unknown): Validation<T> | Promise<Validation<T>> {
  if (typeof validator === 'function') {
    const frame = validator(value);
    return frame === undefined ? { ok: false, detail: 'the frame does not fit the protocol' } : { ok: true, value: frame };
  }
  const result = validator['~standard'].validate(value);
  return result instanceof Promise ? result.then(toValidation) : toValidation(result);
}

function toValidation<T>(result: StandardSchemaV1.Result<T>): Validation<T> {
  if (!result.issues) return { ok: true, value: result.value };
  const issue = result.issues[0];
  const path = issue?.path?.map((segment) => String(typeof segment === 'object' ? segment.key : segment)).join('.');
  return { ok: false, detail: `${path ? `${path}: ` : ''}${issue?.message ?? 'invalid'}`.slice(0, 200) };
}
