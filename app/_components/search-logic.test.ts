import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChatMessageFrame } from '@/lib/chat/protocol';
import { ApiError } from '@/lib/client/api';
import { appendResults, messageHref, queryTooLong, searchPageHref, searchProblem } from './search-logic';

const hit = (room: string, id: string): ChatMessageFrame => ({ type: 'chat.message', id, room, user_id: 'u', user: 'U', message: 'x', ts: 1 });

describe('search page addresses', () => {
  it('keeps the query and the room in the address', () => {
    assert.equal(searchPageHref('', null), '/search/');
    assert.equal(searchPageHref('北京', null), `/search/?q=${encodeURIComponent('北京')}`);
    assert.equal(searchPageHref('a b&c', '_room'), '/search/?q=a+b%26c&room=_room');
    assert.equal(searchPageHref('', 'lobby'), '/search/?room=lobby');
  });

  it('opens a result in its place in its room', () => {
    assert.equal(messageHref(hit('_x-1', '42')), '/chat/_x-1/?at=42');
  });
});

describe('searchProblem', () => {
  it('tells refusals apart, with the wait of Retry-After', () => {
    assert.deepEqual(searchProblem(new ApiError(429, 'rate_limited', 'slow down', 3)), { kind: 'rate_limited', seconds: 3 });
    assert.deepEqual(searchProblem(new ApiError(503, 'unavailable', 'store down', 5)), { kind: 'unavailable', seconds: 5 });
    assert.deepEqual(searchProblem(new ApiError(503, 'http_503', 'Service Unavailable')), { kind: 'unavailable', seconds: 1 }, "a proxy's 503");
    assert.deepEqual(searchProblem(new ApiError(0, 'network', 'unreachable')), { kind: 'network' });
    assert.deepEqual(searchProblem(new ApiError(400, 'too_long', 'long')), { kind: 'too_long' });
    assert.deepEqual(searchProblem(new ApiError(404, 'not_found', 'no such room')), { kind: 'not_found' });
    assert.deepEqual(searchProblem(new ApiError(401, 'no_session', 'no valid session cookie')), { kind: 'other', detail: 'no valid session cookie' });
    assert.deepEqual(searchProblem(new TypeError('boom')), { kind: 'other', detail: 'TypeError: boom' });
  });
});

describe('queryTooLong', () => {
  it('counts code points after trimming, as the server does', () => {
    assert.equal(queryTooLong(`  ${'字'.repeat(100)}  `), false);
    assert.equal(queryTooLong('字'.repeat(101)), true);
    assert.equal(queryTooLong('😀'.repeat(100)), false, 'an emoji is one character, two UTF-16 units');
  });
});

describe('appendResults', () => {
  it('adds a further page without a message twice', () => {
    const shown = [hit('a', '9'), hit('b', '9')];
    assert.deepEqual(appendResults(shown, [hit('b', '9'), hit('a', '8')]).map((m) => `${m.room}:${m.id}`), ['a:9', 'b:9', 'a:8']);
  });
});
