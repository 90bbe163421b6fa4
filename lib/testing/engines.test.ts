import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { freePort } from './engines';

describe('freePort', () => {
  it('never answers the same port twice in a process, though the system hands a freed one out again', async () => {
    // One after the other, as a cluster node asks for its two ports: before, some 550 of 3,000
    // answers repeated an earlier one, and six nodes starting at once were once given the same port.
    const ports: number[] = [];
    for (let index = 0; index < 3_000; index++) ports.push(await freePort());
    assert.equal(new Set(ports).size, ports.length);
  });
});
