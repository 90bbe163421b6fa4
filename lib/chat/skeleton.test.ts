import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LookAlikes, skeleton } from './skeleton';

it('maps look-alikes from other scripts to one skeleton (Unicode TR39)', () => {
  assert.equal(skeleton('Sуstem'), skeleton('System'), 'Cyrillic у');
  assert.equal(skeleton('ЅYSTEM'), skeleton('SYSTEM'), 'Cyrillic Ѕ');
  assert.equal(skeleton('ΑdΜΙΝ'), skeleton('AdMIN'), 'Greek capitals');
  assert.equal(skeleton('paypal'), skeleton('pаypаl'), 'Cyrillic а');
  assert.equal(skeleton('rn'), skeleton('m'));
});

it('decomposes before and after mapping, so composed and decomposed accents meet', () => {
  assert.equal(skeleton('é'), skeleton('e\u0301'));
  assert.equal(skeleton('é'), skeleton('é').normalize('NFD'));
});

it('leaves text without look-alikes alone, apart from decomposition', () => {
  for (const text of ['小明', '王小二', 'Ana']) assert.equal(skeleton(text), text.normalize('NFD'));
  assert.notEqual(skeleton('Sam'), skeleton('System'));
});

describe('LookAlikes', () => {
  const reserved = new LookAlikes(['System', 'admin', 'administrator', 'root']);

  it('has the names in any case, spacing, punctuation or accent', () => {
    for (const name of ['System', 'system', 'SYSTEM', 'S y s t e m', 'System.', 'S.Y.S.T.E.M', 'Systém', 'sYsTeM']) assert.ok(reserved.has(name), name);
  });

  it('has their look-alikes from other scripts, whole and letter by letter', () => {
    for (const name of ['Sуstem', 'ЅYSTEM', 'ΑDΜΙΝ', 'ADMlN', 'adrnin', 'АDМІΝіЅТRАТОR', 'r00t', 'ROOT']) assert.ok(reserved.has(name), name);
  });

  it('does not have names that merely resemble them', () => {
    for (const name of ['Sam', 'Systems', 'Adam', 'Ali', 'Rooted', 'Ro', 'admins', '小明', '']) assert.ok(!reserved.has(name), name);
  });
});
