import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TARGET_MESSAGES, targetStep, type TargetView } from './use-message-target';

const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, n) => ({ id: String(from + n) }));
const view = (fields: Partial<TargetView> = {}): TargetView => ({
  status: 'open',
  messages: ids(101, 150),
  hasMore: true,
  loadingOlder: false,
  historyLoaded: true,
  ...fields,
});

describe('targetStep', () => {
  it('waits for the first page, then loads older pages one at a time until the message is there', () => {
    assert.equal(targetStep(view({ messages: [], historyLoaded: false, status: 'connecting' }), '7'), 'wait');
    assert.equal(targetStep(view({ messages: [], historyLoaded: false }), '7'), 'wait', 'welcomed, the page not yet in');
    assert.equal(targetStep(view(), '7'), 'load');
    assert.equal(targetStep(view({ loadingOlder: true }), '7'), 'wait');
    assert.equal(targetStep(view({ status: 'reconnecting' }), '7'), 'wait');
    assert.equal(targetStep(view({ messages: ids(1, 150) }), '7'), 'found');
    assert.equal(targetStep(view({ historyLoaded: false }), '120'), 'found', 'there is there, whatever else');
  });

  it('gives up when the message cannot come', () => {
    assert.equal(targetStep(view({ hasMore: false }), '7'), 'missing', 'no older pages');
    assert.equal(targetStep(view({ messages: [...ids(101, 119), ...ids(121, 150)] }), '120'), 'missing', 'within what is shown, and not there');
    assert.equal(targetStep(view(), '999'), 'missing', 'newer than the room');
    assert.equal(targetStep(view({ messages: [], hasMore: false }), '1'), 'missing', 'an empty room');
    assert.equal(targetStep(view(), 'abc'), 'missing');
    assert.equal(targetStep(view(), '0'), 'missing');
    assert.equal(targetStep(view({ messages: [], historyLoaded: false, status: 'closed' }), '7'), 'missing', 'shut out of the room');
    assert.equal(targetStep(view({ status: 'closed' }), '7'), 'missing');
  });

  it('loads at most the bound of pages', () => {
    assert.equal(MAX_TARGET_MESSAGES, 51 * 50);
    const many = ids(100_001, 100_000 + MAX_TARGET_MESSAGES);
    assert.equal(targetStep(view({ messages: many }), '7'), 'missing');
    assert.equal(targetStep(view({ messages: many.slice(1) }), '7'), 'load');
    assert.equal(targetStep(view({ messages: ids(101, 150) }), '7', 50), 'missing');
  });

  it('compares ids as integers, past what a number holds exactly', () => {
    assert.equal(targetStep(view({ messages: ids(9, 20) }), '10'), 'found');
    assert.equal(targetStep(view({ messages: [{ id: '9007199254740993' }] }), '9007199254740992'), 'load');
    assert.equal(targetStep(view({ messages: [{ id: '9007199254740993' }] }), '9007199254740994'), 'missing');
  });
});
