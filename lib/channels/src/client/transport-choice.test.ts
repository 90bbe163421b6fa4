import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type StorageLike, browserTransportMemory, FALLBACK_UNTIL_KEY, memoryTransportMemory, probeUpgrade, type UpgradeProbe } from './transport-choice';
import { FakeFetch, FakeTimers, settle, socketFactory } from './test-doubles';

function probing() {
  const server = new FakeFetch();
  const timers = new FakeTimers();
  const sockets = socketFactory();
  let result: UpgradeProbe | null = null;
  void probeUpgrade({ wsUrl: 'wss://example.test/ws/chat/lobby/?after=41', createSocket: sockets.create, fetch: server.fetch, timeoutMs: 5_000, timers }).then((answer) => {
    result = answer;
  });
  return { server, timers, sockets, result: () => result };
}

class MapStorage implements StorageLike {
  readonly items = new Map<string, string>();
  getItem(key: string): string | null {
    return this.items.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.items.set(key, value);
  }
  removeItem(key: string): void {
    this.items.delete(key);
  }
}

describe('probeUpgrade', () => {
  it('probes the path alone, over WebSocket and HTTP at once', () => {
    const { server, sockets } = probing();
    assert.equal(sockets.last.url, 'wss://example.test/ws/chat/lobby/?_channels=probe');
    const request = server.last('probe');
    assert.equal(request.url, 'https://example.test/ws/chat/lobby/?_channels=probe');
    assert.equal(request.init.method, 'GET');
  });

  it('says reachable when the WebSocket probe is closed as a probe, without waiting for HTTP', async () => {
    const { server, sockets, result } = probing();
    sockets.last.drop(1000, 'probe');
    await settle();
    assert.equal(result(), 'reachable');
    assert.ok(server.last('probe').settled, 'the HTTP probe was aborted');
  });

  it('says reachable when the WebSocket probe opens, and closes it', async () => {
    const { sockets, result } = probing();
    sockets.last.open();
    await settle();
    assert.equal(result(), 'reachable');
    assert.equal(sockets.last.closedWith, 1000);
  });

  it('says blocked when the WebSocket probe fails and the HTTP probe answers as the framework does', async () => {
    const { server, sockets, result } = probing();
    sockets.last.drop(1006);
    await settle();
    assert.equal(result(), null);
    server.last('probe').respond(204, { 'X-Channels-Probe': '1' });
    await settle();
    assert.equal(result(), 'blocked');
  });

  it('says blocked when the WebSocket probe hangs until the timeout', async () => {
    const { server, timers, result } = probing();
    server.last('probe').respond(204, { 'X-Channels-Probe': '1' });
    await settle();
    assert.equal(result(), null);
    timers.advance(5_000);
    await settle();
    assert.equal(result(), 'blocked');
    assert.equal(timers.pending, 0);
  });

  for (const [what, answer] of [
    ['a network error', (request: ReturnType<FakeFetch['last']>) => request.fail()],
    ['a 502 from a proxy', (request: ReturnType<FakeFetch['last']>) => request.respond(502)],
    ['a 204 without the header', (request: ReturnType<FakeFetch['last']>) => request.respond(204)],
    ['a closed WebSocket of another reason', null],
  ] as const) {
    it(`says down on ${what}`, async () => {
      const { server, sockets, result } = probing();
      if (answer) {
        sockets.last.drop(1006);
        answer(server.last('probe'));
      } else {
        sockets.last.drop(1000, 'bye');
        server.last('probe').fail();
      }
      await settle();
      assert.equal(result(), 'down');
    });
  }

  it('says down when nothing answers within the timeout', async () => {
    const { server, timers, result } = probing();
    timers.advance(5_000);
    await settle();
    assert.equal(result(), 'down');
    assert.ok(server.last('probe').settled, 'the HTTP probe was aborted');
  });

  it('says down when no socket can be made', async () => {
    const server = new FakeFetch();
    const answer = probeUpgrade({
      wsUrl: 'ws://example.test/ws/x/',
      createSocket: () => {
        throw new Error('no WebSocket');
      },
      fetch: server.fetch,
      timers: new FakeTimers(),
    });
    server.last('probe').fail();
    assert.equal(await answer, 'down');
  });
});

describe('transport memory', () => {
  it('keeps a time in memory', () => {
    const memory = memoryTransportMemory();
    assert.equal(memory.get(), null);
    memory.set(42);
    assert.equal(memory.get(), 42);
    memory.clear();
    assert.equal(memory.get(), null);
  });

  it('keeps the time in storage, where other tabs see it', () => {
    const storage = new MapStorage();
    const memory = browserTransportMemory(() => storage);
    memory.set(1_234);
    assert.equal(storage.getItem(FALLBACK_UNTIL_KEY), '1234');
    assert.equal(browserTransportMemory(() => storage).get(), 1_234);
    storage.removeItem(FALLBACK_UNTIL_KEY); // another tab cleared it
    assert.equal(browserTransportMemory(() => storage).get(), null);
    storage.setItem(FALLBACK_UNTIL_KEY, 'garbage');
    assert.equal(browserTransportMemory(() => storage).get(), null);
    memory.set(5);
    memory.clear();
    assert.equal(storage.getItem(FALLBACK_UNTIL_KEY), null);
  });

  it('falls back to what the page set when storage is absent, throws, or refused the write', () => {
    const refusing: StorageLike = {
      getItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
      setItem: () => {
        throw new DOMException('full', 'QuotaExceededError');
      },
      removeItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
    };
    const full: StorageLike = { getItem: () => null, setItem: refusing.setItem, removeItem: () => {} };
    const finders = [
      () => full,
      () => undefined,
      () => refusing,
      () => {
        throw new DOMException('no storage in a sandboxed frame', 'SecurityError');
      },
    ];
    for (const find of finders) {
      const memory = browserTransportMemory(find);
      assert.equal(memory.get(), null);
      memory.set(99);
      assert.equal(memory.get(), 99);
      memory.clear();
      assert.equal(memory.get(), null);
    }
  });

  it('finds no storage in Node by default, and still works', () => {
    const memory = browserTransportMemory();
    memory.set(7);
    assert.equal(memory.get(), 7);
    memory.clear();
  });
});
