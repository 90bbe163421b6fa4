import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normaliseUsername } from './usernames';

describe('normaliseUsername', () => {
  it('keeps names of any script, and makes one key of case and width variants', () => {
    assert.deepEqual(normaliseUsername('王五'), { ok: true, username: '王五', key: '王五' });
    assert.deepEqual(normaliseUsername(' Ana.Lee_2 '), { ok: true, username: 'Ana.Lee_2', key: 'ana.lee_2' });
    const wide = normaliseUsername('ＡＮＡ');
    assert.deepEqual(wide, { ok: true, username: 'ANA', key: 'ana' });
  });

  it('refuses what cannot be a name: spaces, invisible characters, look-alikes of reserved names, lengths', () => {
    const refused = (input: unknown) => {
      const result = normaliseUsername(input);
      return result.ok ? null : result.error;
    };
    assert.match(refused('ana lee') ?? '', /letters, digits/);
    assert.match(refused('ana\u200Blee') ?? '', /letters, digits|cannot be shown/);
    assert.match(refused('Sуstem') ?? '', /reserved/);
    assert.match(refused('ADMlN') ?? '', /reserved/);
    assert.match(refused('管理员') ?? '', /reserved/);
    assert.match(refused('a') ?? '', /at least 2/);
    assert.match(refused('a'.repeat(33)) ?? '', /longer than 32/);
    assert.match(refused('a'.repeat(10_000)) ?? '', /longer than 32/);
    assert.match(refused(null) ?? '', /string/);
    assert.match(refused('<script>') ?? '', /letters, digits/);
  });
});
