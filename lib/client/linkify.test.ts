import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitLinks, type TextPart } from './linkify';

const text = (value: string): TextPart => ({ kind: 'text', text: value });
const link = (value: string, href = value): TextPart => ({ kind: 'link', text: value, href });

describe('splitLinks', () => {
  it('finds http and https links among text, and the parts join back to the text', () => {
    const input = 'see https://example.com/a?b=1#c, and http://x.org/ ok';
    const parts = splitLinks(input);
    assert.deepEqual(parts, [text('see '), link('https://example.com/a?b=1#c'), text(', and '), link('http://x.org/'), text(' ok')]);
    assert.equal(parts.map((part) => part.text).join(''), input);
  });

  it('leaves Chinese punctuation around a link outside it', () => {
    assert.deepEqual(splitLinks('看这个：https://example.com/路径。'), [
      text('看这个：'),
      link('https://example.com/路径', 'https://example.com/%E8%B7%AF%E5%BE%84'),
      text('。'),
    ]);
    assert.deepEqual(splitLinks('（https://example.com/a）和「https://b.org」，好！'), [
      text('（'),
      link('https://example.com/a'),
      text('）和「'),
      link('https://b.org', 'https://b.org/'),
      text('」，好！'),
    ]);
  });

  it('links nothing but http and https written out', () => {
    for (const input of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'mailto:a@example.com', 'a@example.com', 'example.com', '//example.com', 'ftp://example.com', 'http://', 'vbscript:x', 'JaVaScRiPt:alert(1)']) {
      assert.deepEqual(splitLinks(input), [text(input)], input);
    }
  });

  it('keeps markup as text and does not let a link carry it', () => {
    assert.deepEqual(splitLinks('<a href="javascript:x">https://e.com/"><img></a>'), [
      text('<a href="javascript:x">'),
      link('https://e.com/', 'https://e.com/'),
      text('"><img></a>'),
    ]);
  });

  it('gives text without links as one part, and nothing for nothing', () => {
    assert.deepEqual(splitLinks('你好，世界'), [text('你好，世界')]);
    assert.deepEqual(splitLinks(''), []);
  });

  it('normalises the address it links to (case of the scheme and host, non-ASCII hosts)', () => {
    assert.deepEqual(splitLinks('HTTPS://EXAMPLE.COM'), [link('HTTPS://EXAMPLE.COM', 'https://example.com/')]);
    assert.deepEqual(splitLinks('http://例子.测试/页'), [link('http://例子.测试/页', 'http://xn--fsqu00a.xn--0zwm56d/%E9%A1%B5')]);
  });
});
