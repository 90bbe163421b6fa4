import type { OutgoingFrame } from './connection';

// A group message reaches every member as the same object, one member after the other, so the
// first member's send frames it and the rest reuse the bytes: one serialisation and one frame
// per broadcast, however many members it has. The last few objects framed are remembered, and
// only those: a frame that lives long (a room's presence list) keeps no bytes alive with it,
// and a frame sent to one connection (a welcome) costs no cache entry that outlives it.
const REMEMBERED = 4;
const recentObjects: (object | null)[] = new Array<object | null>(REMEMBERED).fill(null);
const recentBytes: (Buffer | null)[] = new Array<Buffer | null>(REMEMBERED).fill(null);
let nextSlot = 0;

/** The JSON text of a frame. */
export function encodePayload(frame: OutgoingFrame): string {
  return typeof frame === 'string' ? frame : JSON.stringify(frame);
}

/**
 * The wire bytes of a frame as one unmasked WebSocket text frame (RFC 6455 §5.2, the way a
 * server sends); an object sent to several sockets in a row is framed once.
 */
export function encodeTextFrame(frame: OutgoingFrame): Buffer {
  if (typeof frame === 'string') return textFrame(frame);
  for (let slot = 0; slot < REMEMBERED; slot++) {
    if (recentObjects[slot] === frame) return recentBytes[slot]!;
  }
  const bytes = textFrame(JSON.stringify(frame));
  recentObjects[nextSlot] = frame;
  recentBytes[nextSlot] = bytes;
  nextSlot = (nextSlot + 1) % REMEMBERED;
  return bytes;
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
