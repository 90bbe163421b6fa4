/**
 * Reads a server-sent-events stream as it arrives, in chunks of bytes split anywhere (inside a
 * line, a CRLF or a UTF-8 character), and hands each complete event on. The rules are those of
 * the HTML standard's event stream (https://html.spec.whatwg.org/multipage/server-sent-events.html):
 * lines end in LF, CR or CRLF; a line starting with `:` is a comment; `event:` names the event;
 * `data:` lines are joined with LF; one space after the colon is dropped; a blank line dispatches;
 * `id:`, `retry:` and unknown fields are ignored (the fallback transport numbers its own frames).
 *
 * One difference from a browser's `EventSource`: an event with a name and no `data:` line is
 * dispatched with empty data, so `event: ping` alone is heard as a ping.
 */
export class SseParser {
  readonly #decoder = new TextDecoder('utf-8');
  readonly #onEvent: (name: string, data: string) => void;
  /** The current line, up to the end of the last chunk. */
  #line = '';
  /** The previous chunk ended in CR: an LF first in the next belongs to that line end. */
  #afterCarriageReturn = false;
  #name = '';
  #data: string[] = [];

  constructor(onEvent: (name: string, data: string) => void) {
    this.#onEvent = onEvent;
  }

  /** Takes the next chunk of the stream; calls `onEvent` for every event it completes. */
  push(chunk: Uint8Array): void {
    this.#text(this.#decoder.decode(chunk, { stream: true }));
  }

  /** The stream ended: a half-received event is dropped, as the standard says. */
  end(): void {
    this.#text(this.#decoder.decode());
    this.#line = '';
    this.#name = '';
    this.#data = [];
  }

  #text(text: string): void {
    if (text === '') return;
    let start = 0;
    if (this.#afterCarriageReturn && text.charCodeAt(0) === LF) start = 1;
    this.#afterCarriageReturn = false;
    for (let index = start; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code !== LF && code !== CR) continue;
      const line = this.#line + text.slice(start, index);
      this.#line = '';
      if (code === CR) {
        if (index + 1 === text.length) this.#afterCarriageReturn = true;
        else if (text.charCodeAt(index + 1) === LF) index++;
      }
      start = index + 1;
      this.#field(line);
    }
    this.#line += text.slice(start);
  }

  #field(line: string): void {
    if (line === '') {
      this.#dispatch();
      return;
    }
    const colon = line.indexOf(':');
    if (colon === 0) return;
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.#name = value;
    else if (field === 'data') this.#data.push(value);
  }

  #dispatch(): void {
    const name = this.#name;
    const data = this.#data;
    this.#name = '';
    this.#data = [];
    if (data.length === 0 && name === '') return;
    this.#onEvent(name === '' ? 'message' : name, data.join('\n'));
  }
}

const LF = 0x0a;
const CR = 0x0d;
