import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { retryAfterSeconds, searchPath } from './api';

describe('searchPath', () => {
  it('puts the query, the room and the page in the query string, encoded', () => {
    assert.equal(searchPath('北京'), `/api/search?q=${encodeURIComponent('北京')}`);
    assert.equal(searchPath('a&b=c #d', { room: '_x', before: '1:2:lobby' }), '/api/search?q=a%26b%3Dc+%23d&room=_x&before=1%3A2%3Alobby');
    assert.equal(searchPath('hi', { room: null, before: null }), '/api/search?q=hi');
  });
});

describe('retryAfterSeconds', () => {
  it('reads delay-seconds and HTTP dates, at least one second', () => {
    assert.equal(retryAfterSeconds('7'), 7);
    assert.equal(retryAfterSeconds(' 0 '), 1);
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(retryAfterSeconds('Thu, 01 Jan 2026 00:00:30 GMT', now), 30);
    assert.equal(retryAfterSeconds('Wed, 31 Dec 2025 00:00:00 GMT', now), 1);
  });

  it('is null without a header or with one it cannot read', () => {
    assert.equal(retryAfterSeconds(null), null);
    assert.equal(retryAfterSeconds('soon'), null);
    assert.equal(retryAfterSeconds('-3'), null);
  });
});
