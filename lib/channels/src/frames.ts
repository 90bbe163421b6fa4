import type { OutgoingFrame } from './connection';

// A group message reaches every member as the same object, one member after the other, so the
// first member's send frames it and the rest reuse the bytes: one serialisation and one frame
// per broadcast, however many members it has. The last few objects framed are remembered, and
// only those: a frame that lives long (a room's presence list) keeps no bytes alive with it,
// and a frame sent to one connection (a welcome) costs no cache entry that outlives it.
const REMEMBERED = 4;

/** An encoder that remembers the bytes of the last few objects it encoded, as described above. */
function rememberingEncoder(encode: (text: string) => Buffer): (frame: OutgoingFrame) => Buffer {
  const recentObjects: (object | null)[] = new Array<object | null>(REMEMBERED).fill(null);
  const recentBytes: (Buffer | null)[] = new Array<Buffer | null>(REMEMBERED).fill(null);
  let nextSlot = 0;
  return (frame) => {
    if (typeof frame === 'string') return encode(frame);
    for (let slot = 0; slot < REMEMBERED; slot++) {
      if (recentObjects[slot] === frame) return recentBytes[slot]!;
    }
    const bytes = encode(JSON.stringify(frame));
    recentObjects[nextSlot] = frame;
    recentBytes[nextSlot] = bytes;
    nextSlot = (nextSlot + 1) % REMEMBERED;
    return bytes;
  };
}

/** The JSON text of a frame. */
export function encodePayload(frame: OutgoingFrame): string {
  return typeof frame === 'string' ? frame : JSON.stringify(frame);
}

/**
 * The wire bytes of a frame as one unmasked WebSocket text frame (RFC 6455 §5.2, the way a
 * server sends); an object sent to several sockets in a row is framed once.
 */
export const encodeTextFrame: (frame: OutgoingFrame) => Buffer = rememberingEncoder(textFrame);

/**
 * The wire bytes of a frame as one unnamed server-sent event (`data: …` and a blank line), what
 * the HTTP fallback streams; an object sent to several streams in a row is encoded once.
 */
export const encodeSseFrame: (frame: OutgoingFrame) => Buffer = rememberingEncoder(sseFrame);

const LINE_BREAK = /\r\n|\r|\n/;

function sseFrame(text: string): Buffer {
  // JSON never holds a raw line break; a text frame that does is sent as several `data:` lines,
  // which the client joins with "\n".
  const body = LINE_BREAK.test(text) ? text.split(LINE_BREAK).join('\ndata: ') : text;
  return Buffer.from(`data: ${body}\n\n`, 'utf8');
}

function textFrame(text: string): Buffer {
  const size = Buffer.byteLength(text, 'utf8');
  const header = size < 126 ? 2 : size < 65_536 ? 4 : 10;
  // From Node's shared pool when small: the bytes live until the socket has them, or while the
  // frame is one of the few remembered.
  const bytes = Buffer.allocUnsafe(header + size);
  bytes[0] = 0x81; // FIN, text
  if (size < 126) {
    bytes[1] = size;
  } else if (size < 65_536) {
    bytes[1] = 126;
    bytes.writeUInt16BE(size, 2);
  } else {
    bytes[1] = 127;
    bytes.writeUInt32BE(Math.floor(size / 2 ** 32), 2);
    bytes.writeUInt32BE(size >>> 0, 6);
  }
  bytes.write(text, header, 'utf8');
  return bytes;
}
