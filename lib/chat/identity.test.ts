import assert from 'node:assert/strict';
import { it } from 'node:test';
import { newGuest, normaliseDisplayName } from './identity';

it('makes guests with distinct ids and readable names', () => {
  const guests = Array.from({ length: 50 }, newGuest);
  assert.equal(new Set(guests.map((guest) => guest.id)).size, 50);
  for (const guest of guests) assert.match(guest.name, /^[A-Z][a-z]+ [A-Z][a-z]+ \d\d$/);
});

it('trims and collapses a display name, keeping Chinese and emoji', () => {
  assert.deepEqual(normaliseDisplayName('  王   小明 '), { ok: true, name: '王 小明' });
  assert.deepEqual(normaliseDisplayName('👩‍💻 Ana'), { ok: true, name: '👩‍💻 Ana' });
});

it('strips control and bidirectional-override characters', () => {
  assert.deepEqual(normaliseDisplayName('Ana\u202Egnp.exe\u0007'), { ok: true, name: 'Anagnp.exe' });
});

it('refuses empty, too long, reserved and non-string names', () => {
  assert.equal(normaliseDisplayName('   ').ok, false);
  assert.equal(normaliseDisplayName('\u200B').ok, false);
  assert.equal(normaliseDisplayName('名'.repeat(33)).ok, false);
  assert.equal(normaliseDisplayName('名'.repeat(32)).ok, true);
  assert.equal(normaliseDisplayName('system').ok, false);
  assert.equal(normaliseDisplayName(42).ok, false);
});
