import type { OutgoingFrame } from './connection';

// A group message reaches every member as the same object, so the first member's send frames it
// and the rest reuse the bytes: one serialisation and one frame per broadcast, however many
// members it has.
const framed = new WeakMap<object, Buffer>();
const payloads = new WeakMap<object, string>();

/** The JSON text of a frame, serialising an object only the first time it is seen. */
export function encodePayload(frame: OutgoingFrame): string {
  if (typeof frame === 'string') return frame;
  let text = payloads.get(frame);
  if (text === undefined) {
    text = JSON.stringify(frame);
    payloads.set(frame, text);
  }
  return text;
}

/**
 * The wire bytes of a frame as one unmasked WebSocket text frame (RFC 6455 §5.2, the way a
 * server sends), made once per object and then shared by every socket it is sent to.
 */
export function encodeTextFrame(frame: OutgoingFrame): Buffer {
  if (typeof frame === 'string') return textFrame(frame, Buffer.allocUnsafe);
  let bytes = framed.get(frame);
  if (bytes === undefined) {
    // A frame object may live long (a room's presence list, its newest history page), and a
    // slice of Node's shared buffer pool would keep a whole 8 KiB slab alive with it.
    bytes = textFrame(encodePayload(frame), Buffer.allocUnsafeSlow);
    framed.set(frame, bytes);
  }
  return bytes;
}

function textFrame(text: string, allocate: (size: number) => Buffer): Buffer {
  const size = Buffer.byteLength(text, 'utf8');
  const header = size < 126 ? 2 : size < 65_536 ? 4 : 10;
  const bytes = allocate(header + size);
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
