import assert from 'node:assert/strict';
import { it } from 'node:test';
import { DeliveredIds } from './delivered-ids';

it('advances through ids sent in order, and never counts one twice', () => {
  const ids = new DeliveredIds('5');
  assert.equal(ids.has('5'), true);
  assert.equal(ids.add('3'), false);
  assert.equal(ids.add('6'), true);
  assert.equal(ids.add('6'), false);
  assert.equal(ids.contiguous, '6');
});

it('holds ids that overtook others until the gap fills', () => {
  const ids = new DeliveredIds('0');
  assert.equal(ids.add('2'), true);
  assert.equal(ids.add('4'), true);
  assert.equal(ids.contiguous, '0');
  assert.equal(ids.has('2'), true);
  assert.equal(ids.has('3'), false);
  assert.equal(ids.add('1'), true);
  assert.equal(ids.contiguous, '2');
  assert.equal(ids.add('3'), true);
  assert.equal(ids.contiguous, '4');
  assert.equal(ids.add('4'), false);
});

it('copes with ids past 2^53', () => {
  const ids = new DeliveredIds('9007199254740992');
  assert.equal(ids.add('9007199254740993'), true);
  assert.equal(ids.contiguous, '9007199254740993');
});
