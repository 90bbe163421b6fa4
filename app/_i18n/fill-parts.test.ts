import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fillParts } from './fill-parts';
import { MESSAGES } from './messages';

describe('fillParts', () => {
  it('cuts a message at its values, in the order the language puts them', () => {
    assert.deepEqual(fillParts(MESSAGES.en.toasts.mentionPublic, ['Ana', 'kitchen']), [
      { kind: 'value', text: 'Ana' },
      { kind: 'text', text: ' mentioned you in #' },
      { kind: 'value', text: 'kitchen' },
    ]);
    assert.deepEqual(fillParts(MESSAGES.zh.toasts.mentionPrivate, ['安娜', '读书会']), [
      { kind: 'value', text: '安娜' },
      { kind: 'text', text: ' 在“' },
      { kind: 'value', text: '读书会' },
      { kind: 'text', text: '”中提到了你' },
    ]);
    const swapped = (a: string, b: string) => `${b} before ${a}`;
    assert.deepEqual(fillParts(swapped, ['one', 'two']).map((part) => part.text), ['two', ' before ', 'one']);
  });

  it('never reads a value as part of the message, whatever it holds', () => {
    const value = '\uE0001\uE001 $1 ${0}';
    assert.deepEqual(fillParts(MESSAGES.en.toasts.mentionDirect, [value]), [
      { kind: 'value', text: value },
      { kind: 'text', text: ' mentioned you in a direct message' },
    ]);
  });

  it('puts the parts back together as the message itself', () => {
    for (const locale of ['en', 'zh'] as const) {
      const { search, toasts } = MESSAGES[locale];
      const join = (message: (...values: string[]) => string, values: string[]) => fillParts(message, values).map((part) => part.text).join('');
      assert.equal(join(toasts.mentionPublic, ['a', 'b']), toasts.mentionPublic('a', 'b'));
      assert.equal(join(search.none, ['北京']), search.none('北京'));
      assert.equal(join(search.onlyIn, ['#x']), search.onlyIn('#x'));
    }
  });
});
