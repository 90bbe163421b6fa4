import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HasherBusy, OWASP_SCRYPT, passwordProblem, PasswordHasher, TEST_HASHER } from './passwords';

describe('PasswordHasher', () => {
  it('verifies the password a hash was made from, and nothing else', async () => {
    const stored = await TEST_HASHER.hash('正确的马 battery');
    assert.match(stored, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.equal(await TEST_HASHER.verify('正确的马 battery', stored), true);
    assert.equal(await TEST_HASHER.verify('正确的马 Battery', stored), false);
    // A character inside the hash: the last one carries 2 padding bits, which decoding drops, so
    // changing only those would leave the hash the same.
    const at = stored.length - 10;
    const tampered = `${stored.slice(0, at)}${stored[at] === 'A' ? 'B' : 'A'}${stored.slice(at + 1)}`;
    assert.equal(await TEST_HASHER.verify('正确的马 battery', tampered), false);
    assert.equal(await TEST_HASHER.verify('x', 'bcrypt$whatever'), false);
    // Two hashes of one password differ (a salt each).
    assert.notEqual(await TEST_HASHER.hash('same password'), await TEST_HASHER.hash('same password'));
  });

  it('takes a password typed in composed or decomposed form as the same', async () => {
    const stored = await TEST_HASHER.hash('caf\u00e9 au lait');
    assert.equal(await TEST_HASHER.verify('cafe\u0301 au lait', stored), true);
  });

  it("hashes at OWASP's scrypt parameters by default, and says when a stored hash is weaker", async () => {
    const hasher = new PasswordHasher();
    assert.deepEqual(hasher.cost, { N: 32_768, r: 8, p: 3 });
    assert.equal(hasher.cost, OWASP_SCRYPT);
    const stored = await hasher.hash('a long enough password');
    assert.match(stored, /^scrypt\$32768\$8\$3\$/);
    assert.equal(await hasher.verify('a long enough password', stored), true);
    assert.equal(hasher.isOutdated(stored), false);
    assert.equal(hasher.isOutdated(await TEST_HASHER.hash('a long enough password')), true);
  });

  it('hashes a few at a time and refuses past the queue, without losing the ones in it', async () => {
    const hasher = new PasswordHasher({ cost: { N: 2 ** 10, r: 8, p: 1 }, concurrency: 1, maxWaiting: 2 });
    const accepted = [hasher.hash('password one'), hasher.hash('password two'), hasher.hash('password three')];
    await assert.rejects(hasher.hash('password four'), HasherBusy);
    const hashes = await Promise.all(accepted);
    assert.equal(hashes.length, 3);
    assert.equal(await hasher.verify('password three', hashes[2]!), true);
  });
});

describe('passwordProblem', () => {
  it('takes 8 to 256 characters, counting code points, and nothing but a string', () => {
    assert.equal(passwordProblem('12345678'), null);
    assert.equal(passwordProblem('密码密码密码密码'), null);
    assert.match(passwordProblem('1234567') ?? '', /at least 8/);
    assert.match(passwordProblem('😀'.repeat(7)) ?? '', /at least 8/);
    assert.equal(passwordProblem('😀'.repeat(256)), null);
    assert.match(passwordProblem('x'.repeat(257)) ?? '', /longer than 256/);
    assert.match(passwordProblem(12345678) ?? '', /string/);
  });
});
