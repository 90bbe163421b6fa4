import type { OutgoingFrame } from './connection';

// Serialised bytes per broadcast object: a group message reaches every member as the same object,
// so the first member's send serialises it and the rest reuse the bytes.
const encoded = new WeakMap<object, Buffer>();

/** The UTF-8 bytes of a frame, serialising an object only the first time it is seen. */
export function encodeFrame(frame: OutgoingFrame): Buffer {
  if (typeof frame === 'string') return Buffer.from(frame, 'utf8');
  let bytes = encoded.get(frame);
  if (bytes === undefined) {
    bytes = Buffer.from(JSON.stringify(frame), 'utf8');
    encoded.set(frame, bytes);
  }
  return bytes;
}
