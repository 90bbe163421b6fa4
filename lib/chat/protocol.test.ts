import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  codePointLength,
  compareMessageIds,
  isPermanentError,
  isValidRoomName,
  MAX_MESSAGE_CHARS,
  parseClientFrame,
  parseServerFrame,
} from './protocol';

const errorCode = (text: string): string | undefined => {
  const result = parseClientFrame(text);
  return result.ok ? undefined : result.error.code;
};

describe('parseClientFrame', () => {
  it("accepts the source article's {message} shape as a chat message", () => {
    assert.deepEqual(parseClientFrame('{"message":"hi"}'), { ok: true, frame: { type: 'chat.message', message: 'hi' } });
  });

  it('accepts chat.message with a client_id, and the other frame types', () => {
    assert.deepEqual(parseClientFrame('{"type":"chat.message","message":"你好","client_id":"c-1"}'), {
      ok: true,
      frame: { type: 'chat.message', message: '你好', clientId: 'c-1' },
    });
    assert.deepEqual(parseClientFrame('{"type":"typing"}'), { ok: true, frame: { type: 'typing' } });
    assert.deepEqual(parseClientFrame('{"type":"ping"}'), { ok: true, frame: { type: 'ping' } });
    assert.deepEqual(parseClientFrame('{"type":"history","before":"42","limit":10}'), {
      ok: true,
      frame: { type: 'history', before: '42', limit: 10 },
    });
    assert.deepEqual(parseClientFrame('{"type":"history"}'), { ok: true, frame: { type: 'history', limit: 50 } });
  });

  it('ignores fields a client may not set, such as the author', () => {
    assert.deepEqual(parseClientFrame('{"message":"x","user":"mallory","user_id":"u_admin","id":"9"}'), {
      ok: true,
      frame: { type: 'chat.message', message: 'x' },
    });
  });

  it('answers bad_json for text that is not JSON', () => {
    assert.equal(errorCode('not json'), 'bad_json');
    assert.equal(errorCode(''), 'bad_json');
  });

  it('answers invalid_message for JSON that is not an object or lacks a usable message', () => {
    for (const text of ['[]', 'null', '42', '"hi"', '{}', '{"message":5}', '{"message":""}', '{"message":"  \\n "}', '{"message":"x","client_id":"has space"}']) {
      assert.equal(errorCode(text), 'invalid_message', text);
    }
  });

  it('answers unknown_type for a type it does not know', () => {
    assert.equal(errorCode('{"type":"chat.forward","message":"x"}'), 'unknown_type');
    assert.equal(errorCode('{"type":7}'), 'unknown_type');
  });

  it('reads edits, deletions, reactions and replies, bounded, echoing a valid client_id', () => {
    assert.deepEqual(parseClientFrame('{"type":"chat.edit","id":"7","text":"改好了","client_id":"e1"}'), {
      ok: true,
      frame: { type: 'chat.edit', id: '7', text: '改好了', clientId: 'e1' },
    });
    assert.deepEqual(parseClientFrame('{"type":"chat.delete","id":"7"}'), { ok: true, frame: { type: 'chat.delete', id: '7' } });
    assert.deepEqual(parseClientFrame('{"type":"chat.react","id":"7","emoji":"👍🏽","on":false}'), {
      ok: true,
      frame: { type: 'chat.react', id: '7', emoji: '👍🏽', on: false },
    });
    assert.deepEqual(parseClientFrame('{"type":"chat.react","id":"7","emoji":"👨‍👩‍👧‍👦"}').ok, true, 'a family is one emoji');
    assert.deepEqual(parseClientFrame('{"type":"chat.react","id":"7","emoji":"🇨🇳"}').ok, true);
    assert.deepEqual(parseClientFrame('{"message":"对","reply_to":"3","client_id":"c"}'), {
      ok: true,
      frame: { type: 'chat.message', message: '对', clientId: 'c', replyTo: '3' },
    });
    for (const bad of [
      '{"type":"chat.edit","id":"7"}',
      '{"type":"chat.edit","id":"7","text":"  "}',
      '{"type":"chat.edit","id":"07","text":"x"}',
      '{"type":"chat.delete"}',
      '{"type":"chat.react","id":"7","emoji":"ok"}',
      '{"type":"chat.react","id":"7","emoji":"1"}',
      '{"type":"chat.react","id":"7","emoji":"👍 "}',
      `{"type":"chat.react","id":"7","emoji":"${'😀'.repeat(17)}"}`,
      '{"type":"chat.react","id":"7","emoji":"👍","on":"yes"}',
      '{"message":"x","reply_to":3}',
    ]) {
      assert.equal(errorCode(bad), 'invalid_message', bad);
    }
    assert.deepEqual(parseClientFrame('{"type":"chat.edit","id":"x","text":"y","client_id":"e2"}'), {
      ok: false,
      error: { type: 'error', code: 'invalid_message', detail: 'id must be a message id (a positive integer as a string)', client_id: 'e2' },
    });
    assert.equal(errorCode(JSON.stringify({ type: 'chat.edit', id: '1', text: '字'.repeat(MAX_MESSAGE_CHARS + 1) })), 'too_long');
  });

  it('counts the length limit in code points, so Chinese and emoji count one each', () => {
    assert.equal(parseClientFrame(JSON.stringify({ message: '字'.repeat(MAX_MESSAGE_CHARS) })).ok, true);
    assert.equal(parseClientFrame(JSON.stringify({ message: '😀'.repeat(MAX_MESSAGE_CHARS) })).ok, true);
    assert.equal(errorCode(JSON.stringify({ message: '字'.repeat(MAX_MESSAGE_CHARS + 1) })), 'too_long');
  });

  it('refuses a message holding a NUL character, which PostgreSQL cannot store', () => {
    assert.equal(errorCode(JSON.stringify({ message: 'a\u0000b' })), 'invalid_message');
    assert.equal(parseClientFrame(JSON.stringify({ message: '制表\t换行\n' })).ok, true);
  });

  it('echoes a valid client_id in the error frame', () => {
    const result = parseClientFrame('{"type":"chat.message","message":"","client_id":"abc"}');
    assert.deepEqual(result, { ok: false, error: { type: 'error', code: 'invalid_message', detail: 'message is empty', client_id: 'abc' } });
  });

  it('validates history paging arguments', () => {
    for (const text of ['{"type":"history","before":"0"}', '{"type":"history","before":5}', '{"type":"history","limit":0}', '{"type":"history","limit":101}', '{"type":"history","limit":1.5}']) {
      assert.equal(errorCode(text), 'invalid_message', text);
    }
  });

  it('is not fooled by __proto__ keys', () => {
    assert.equal(errorCode('{"__proto__":{"type":"ping"}}'), 'invalid_message');
    assert.deepEqual(parseClientFrame('{"__proto__":{"x":1},"message":"ok"}'), { ok: true, frame: { type: 'chat.message', message: 'ok' } });
  });
});

describe('protocol helpers', () => {
  it('checks room names', () => {
    assert.equal(isValidRoomName('lobby'), true);
    assert.equal(isValidRoomName('a-b_C9'), true);
    for (const room of ['', 'has space', '聊天', 'a/b', 'x'.repeat(65)]) assert.equal(isValidRoomName(room), false, room);
  });

  it('counts code points', () => {
    assert.equal(codePointLength('abc'), 3);
    assert.equal(codePointLength('你好😀'), 3);
    assert.equal(codePointLength('\ud800'), 1);
  });

  it('compares message ids as integers, past 2^53 too', () => {
    assert.ok(compareMessageIds('9', '10') < 0);
    assert.ok(compareMessageIds('9007199254740993', '9007199254740992') > 0);
    assert.equal(compareMessageIds('7', '7'), 0);
  });

  it('sorts error codes into permanent and transient', () => {
    assert.equal(isPermanentError('too_long'), true);
    assert.equal(isPermanentError('rate_limited'), false);
    assert.equal(isPermanentError('unavailable'), false);
  });

  it('reads server frames, dropping malformed chat messages', () => {
    const message = { type: 'chat.message', id: '1', room: 'lobby', user_id: 'u', user: 'Ana', message: 'hi', ts: 1 };
    assert.deepEqual(parseServerFrame(JSON.stringify(message)), message);
    assert.equal(parseServerFrame(JSON.stringify({ ...message, id: 1 })), null);
    assert.equal(parseServerFrame('nope'), null);
    assert.equal(parseServerFrame('{"type":"other"}'), null);
    assert.deepEqual(parseServerFrame('{"type":"pong"}'), { type: 'pong' });
  });

  it('reads event frames, and keeps the messages of a history whose events it cannot read', () => {
    const edit = { type: 'chat.edit', id: '3', room: 'lobby', target: '1', user_id: 'u', user: 'U', ts: 1, text: '改' };
    assert.deepEqual(parseServerFrame(JSON.stringify(edit)), edit);
    assert.equal(parseServerFrame(JSON.stringify({ ...edit, text: 7 })), null);
    const reaction = { type: 'chat.reaction', id: '4', room: 'lobby', target: '1', user_id: 'u', user: 'U', ts: 1, emoji: '👍', on: true, count: 1 };
    assert.deepEqual(parseServerFrame(JSON.stringify(reaction)), reaction);
    const message = { type: 'chat.message', id: '1', room: 'lobby', user_id: 'u', user: 'U', message: '', ts: 1, deleted: true };
    const history = { type: 'history', messages: [message], events: [edit, { type: 'chat.unknown', id: '5' }], has_more: true };
    assert.deepEqual(parseServerFrame(JSON.stringify(history)), { ...history, events: [edit] });
    const retract = { type: 'notification.retract', room: 'lobby', message_id: '1' };
    assert.deepEqual(parseServerFrame(JSON.stringify(retract)), retract);
  });
});
