import type { JsonObject, JsonValue } from './connection';
import type { EventMap, Hook } from './consumer';
import { JsonWebsocketConsumer } from './json-consumer';
import { type FrameValidator, type OfType, type ReplyOf, type SocketProtocol, validateFrame, type Validation } from './protocol';
import type { RouteParams } from './scope';

/**
 * A JSON consumer with a typed protocol: frames from the client are checked by `frames` (a
 * Standard Schema such as zod or valibot, or a function) before `receiveFrame` sees them, typed
 * as the protocol's client frames; `sendFrame` takes only the protocol's server frames. A frame
 * that fails the check is answered with an `invalid_frame` error (the request's error, for a
 * request) and goes no further.
 *
 * ```ts
 * class Poll extends ProtocolConsumer<PollProtocol> {
 *   protected readonly frames = ClientFrame; // a zod schema of PollProtocol['client']
 *   receiveFrame(frame: PollProtocol['client']) {
 *     if (frame.type === 'tally') this.replyTo(frame, { counts: tally() });
 *   }
 * }
 * ```
 */
export abstract class ProtocolConsumer<
  Protocol extends SocketProtocol,
  P extends RouteParams = RouteParams,
  E extends EventMap = EventMap,
> extends JsonWebsocketConsumer<P, E> {
  /** Checks every frame from the client before `receiveFrame`. */
  protected abstract readonly frames: FrameValidator<Protocol['client']>;

  /** A frame from the client that passed `frames`. */
  abstract receiveFrame(frame: Protocol['client']): Hook;

  override receiveJson(content: unknown): Hook {
    const checked = validateFrame(this.frames, content);
    if (checked instanceof Promise) return checked.then((result) => this.#dispatch(result));
    return this.#dispatch(checked);
  }

  /** Sends one of the protocol's server frames. */
  sendFrame(frame: Protocol['server']): void {
    this.sendJson(frame as unknown as JsonObject);
  }

  /** Answers the request `frame` came in, with the reply its type declares. */
  protected replyTo<K extends Protocol['client']['type']>(_frame: OfType<K>, body: ReplyOf<Protocol, K> & JsonValue): void {
    this.reply(body);
  }

  #dispatch(result: Validation<Protocol['client']>): Hook {
    if (result.ok) return this.receiveFrame(result.value);
    if (this.isRequest) this.replyError('invalid_frame', result.detail);
    else this.send({ $: 'error', code: 'invalid_frame', detail: result.detail });
  }
}
