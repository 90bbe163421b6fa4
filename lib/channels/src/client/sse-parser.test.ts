import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SseParser } from './sse-parser';

type Heard = Array<[name: string, data: string]>;

function parse(chunks: readonly Uint8Array[]): Heard {
  const heard: Heard = [];
  const parser = new SseParser((name, data) => heard.push([name, data]));
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return heard;
}

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

// Every rule at once: CRLF, CR and LF line ends, comments, a name, multi-line data, the one space
// dropped after the colon (and only one), a field without a colon, ignored fields, and UTF-8 text
// whose characters take three bytes each.
const FIXTURE = [
  ': a comment, then the open event\r\n',
  'event: open\r\n',
  'data: {"connection":"c1","token":"t","ping_ms":25000}\r\n',
  '\r\n',
  'data: 你好，世界\n',
  '\n',
  'id: 7\r',
  'retry: 1000\r',
  'data:two\r',
  'data:  lines\r',
  'unknown: field\r',
  '\r',
  'event: ping\n',
  'data\n',
  '\n',
  'event: ping\n',
  '\n',
  ':\n',
  '\n',
  'event: close\n',
  'data: {"code":4401,"reason":"session ended"}\n',
  '\n',
  'data: never finished',
].join('');

const EXPECTED: Heard = [
  ['open', '{"connection":"c1","token":"t","ping_ms":25000}'],
  ['message', '你好，世界'],
  ['message', 'two\n lines'],
  ['ping', ''],
  ['ping', ''],
  ['close', '{"code":4401,"reason":"session ended"}'],
];

describe('SseParser', () => {
  it('reads the events of a stream given whole', () => {
    assert.deepEqual(parse([encode(FIXTURE)]), EXPECTED);
  });

  it('reads the same events whatever byte the stream is split at, inside a character or a CRLF', () => {
    const bytes = encode(FIXTURE);
    for (let split = 1; split < bytes.length; split++) {
      assert.deepEqual(parse([bytes.subarray(0, split), bytes.subarray(split)]), EXPECTED, `split at byte ${split}`);
    }
  });

  it('reads the same events from a stream that arrives one byte at a time', () => {
    const bytes = encode(FIXTURE);
    assert.deepEqual(parse([...bytes].map((byte) => Uint8Array.of(byte))), EXPECTED);
  });

  it('takes a CR at the end of one chunk and an LF first in the next as one line end', () => {
    assert.deepEqual(parse([encode('data: a\r'), encode('\ndata: b\r'), encode('\n\r'), encode('\n')]), [['message', 'a\nb']]);
  });

  it('drops a leading byte-order mark, and an event cut off by the end of the stream', () => {
    assert.deepEqual(parse([Uint8Array.of(0xef, 0xbb, 0xbf), encode('data: x\n\ndata: cut')]), [['message', 'x']]);
  });

  it('dispatches nothing for comments and blank lines alone', () => {
    assert.deepEqual(parse([encode(': hello\n\n\n: again\r\n\r\n')]), []);
  });

  it('keeps an empty data line as an empty line of the data', () => {
    assert.deepEqual(parse([encode('data\ndata:\ndata: x\n\n')]), [['message', '\n\nx']]);
  });
});
