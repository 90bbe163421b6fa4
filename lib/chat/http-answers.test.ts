import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refusal } from './http-answers';
import { Refused } from './refused';

describe('refusal', () => {
  it("answers a Refused thrown by another bundle's copy of the class, as Next's route bundles meet the server's", async () => {
    // What the server's copy looks like from a route's bundle: same name and fields, another class.
    class OtherCopyOfRefused extends Error {
      override name = 'Refused';
      constructor(
        readonly status: number,
        readonly code: string,
        detail: string,
        readonly retryAfterSeconds?: number,
      ) {
        super(detail);
      }
    }
    const answer = refusal(new OtherCopyOfRefused(429, 'rate_limited', 'slow down', 7));
    assert.equal(answer.status, 429);
    assert.equal(answer.headers.get('retry-after'), '7');
    assert.deepEqual(await answer.json(), { error: 'rate_limited', detail: 'slow down' });
    assert.equal(refusal(new Refused(404, 'not_found', 'no such room')).status, 404);
  });

  it("answers the store's outage with 503, and lets any other error through", () => {
    const outage = Object.assign(new Error('postgres unreachable'), { name: 'StoreUnavailable' });
    assert.equal(refusal(outage).status, 503);
    assert.throws(() => refusal(new TypeError('a bug')), TypeError);
    assert.throws(() => refusal(Object.assign(new Error('x'), { name: 'Refused' })), /x/, 'a Refused without status and code is not one');
  });
});
