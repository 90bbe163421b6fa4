import { CloseCode } from './close-codes';
import type { JsonObject } from './connection';
import { type EventMap, type Hook, WebsocketConsumer } from './consumer';
import type { RouteParams } from './scope';

/** A consumer that speaks JSON: text frames are parsed and handed to `receiveJson`. */
export abstract class JsonWebsocketConsumer<
  P extends RouteParams = RouteParams,
  E extends EventMap = EventMap,
> extends WebsocketConsumer<P, E> {
  override receive(text: string): Hook {
    let content: unknown;
    try {
      content = JSON.parse(text);
    } catch {
      return this.receiveInvalidJson(text);
    }
    return this.receiveJson(content);
  }

  /** A parsed frame: `unknown`, since it comes from the client; validate before use. */
  abstract receiveJson(content: unknown): Hook;

  /** A text frame that is not JSON. The default closes with 1007 (inconsistent data). */
  receiveInvalidJson(_text: string): Hook {
    this.close(CloseCode.InvalidPayload, 'frames must be JSON');
  }

  /**
   * Sends `content` as one JSON text frame (serialised once, however many sockets it goes to).
   * A `$` member is refused (TypeError): it marks the framework's own frames.
   */
  sendJson(content: JsonObject): void {
    // A broadcast hands the same object to every member in a row: it is checked once.
    if (content !== lastChecked) {
      if ('$' in content) throw new TypeError('a frame with a "$" member would read as a framework frame');
      lastChecked = content;
    }
    this.send(content);
  }
}

/** The object `sendJson` checked last. */
let lastChecked: JsonObject | null = null;
