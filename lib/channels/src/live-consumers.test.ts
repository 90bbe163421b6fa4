import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveConsumerClassesIn, registerLiveConsumer, trackLiveConsumers, upgradeLiveConsumers } from './live-consumers';

/** Two versions of one consumer class, as two loads of its module make them. */
function version(greeting: string) {
  return class RoomConsumer {
    greet(): string {
      return greeting;
    }
  };
}

describe('live consumers', () => {
  it("moves open instances onto the class of that name among a reload's exports, with no list kept by hand", () => {
    trackLiveConsumers();
    const First = version('v1');
    const open = new First();
    const closed = new First();
    registerLiveConsumer(open, true);
    registerLiveConsumer(closed, true);
    registerLiveConsumer(closed, false);
    const Second = version('v2');
    const modules = [{ RoomConsumer: Second, helper: () => 1, limit: 5 }, null, 'text', { unrelated: class Other {} }];
    const classes = liveConsumerClassesIn(modules);
    assert.deepEqual(classes, [Second]);
    assert.equal(upgradeLiveConsumers(classes), 1);
    assert.equal(open.greet(), 'v2');
    assert.equal(closed.greet(), 'v1');
    // Moved already: a second upgrade to the same class moves nothing.
    assert.equal(upgradeLiveConsumers(classes), 0);
    registerLiveConsumer(open, false);
  });
});
