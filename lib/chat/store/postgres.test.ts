import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PostgresServer } from '../../testing/engines';
import { messageStoreConformance } from './conformance';
import { PostgresMessageStore } from './postgres';

let postgres: PostgresServer;
before(async () => {
  postgres = await PostgresServer.start();
});
after(async () => {
  await postgres?.dispose();
});

messageStoreConformance('PostgresMessageStore', async (options) => PostgresMessageStore.connect(await postgres.createDatabase(), options));

describe('PostgresMessageStore across processes', () => {
  const stores: PostgresMessageStore[] = [];
  const open = async (url: string): Promise<PostgresMessageStore> => {
    const store = await PostgresMessageStore.connect(url, { connectTimeoutMs: 500 });
    stores.push(store);
    return store;
  };
  after(async () => {
    await Promise.all(stores.map((store) => store.close().catch(() => {})));
  });

  it('numbers a room without gaps when two processes append at once', async () => {
    const url = await postgres.createDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const results = await Promise.all(Array.from({ length: 30 }, (_, n) => (n % 2 ? a : b).append({ room: 'r', userId: 'u', user: 'U', text: `m${n}` })));
    assert.deepEqual(
      results.map((result) => Number(result.message.id)).sort((x, y) => x - y),
      Array.from({ length: 30 }, (_, n) => n + 1),
    );
    assert.equal((await a.latest('r', 100)).messages.length, 30);
  });

  it('stores a client_id retried on another process once', async () => {
    const url = await postgres.createDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const message = { room: 'r', userId: 'u', user: 'U', text: 'once', clientId: 'retry-1' };
    const [first, second] = await Promise.all([a.append(message), b.append(message)]);
    assert.deepEqual([first.created, second.created].sort(), [false, true]);
    assert.deepEqual(first.message, second.message);
    const next = await a.append({ room: 'r', userId: 'u', user: 'U', text: 'next' });
    assert.equal(next.message.id, '2', 'the refused duplicate left no gap');
  });

  it('stores the appends of one moment in one call, in order: a batch that fails fails them all', async () => {
    const store = await open(await postgres.createDatabase());
    const texts = ['一', '二', '三', '四'];
    const stored = await Promise.all(texts.map((text) => store.append({ room: 'r', userId: 'u', user: 'U', text })));
    assert.deepEqual(
      stored.map((result) => [result.message.id, result.message.text]),
      texts.map((text, index) => [String(index + 1), text]),
    );
    // PostgreSQL refuses the NUL character in text: the protocol keeps it out, but if one got
    // here, its neighbours in the batch would fail with it, and nothing would be half written.
    const outcomes = await Promise.allSettled(['ok', 'bad\u0000', 'ok too'].map((text) => store.append({ room: 'r', userId: 'u', user: 'U', text })));
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ['rejected', 'rejected', 'rejected'],
    );
    const next = await store.append({ room: 'r', userId: 'u', user: 'U', text: 'after' });
    assert.equal(next.message.id, '5', 'the failed batch left no gap');
  });

  it('takes room locks in one order, so two processes batching the same rooms never deadlock', async () => {
    const url = await postgres.createDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const appends: Promise<unknown>[] = [];
    for (let round = 0; round < 20; round++) {
      for (const room of ['x', 'y', 'z']) appends.push(a.append({ room, userId: 'a', user: 'A', text: `${room}${round}` }));
      for (const room of ['z', 'y', 'x']) appends.push(b.append({ room, userId: 'b', user: 'B', text: `${room}${round}` }));
    }
    await Promise.all(appends);
    for (const room of ['x', 'y', 'z']) {
      const page = await a.latest(room, 100);
      assert.deepEqual(
        page.messages.map((message) => Number(message.id)),
        Array.from({ length: 40 }, (_, n) => n + 1),
      );
    }
  });

  it('shows a session revoked by one process to another', async () => {
    const url = await postgres.createDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]);
    assert.equal(await b.isSessionRevoked('s_ana'), false);
    await a.revokeSession('s_ana', Date.now() + 60_000);
    assert.equal(await b.isSessionRevoked('s_ana'), true);
  });

  it('migrates once when two processes start together', async () => {
    const url = await postgres.createDatabase();
    await Promise.all([open(url), open(url), open(url)]);
    const client = new pg.Client(url);
    await client.connect();
    const versions = await client.query('SELECT version FROM schema_migrations');
    await client.end();
    assert.deepEqual(versions.rows, [{ version: 1 }, { version: 2 }, { version: 3 }, { version: 4 }]);
  });

  it('refuses a database from a newer server, in one line', async () => {
    const url = await postgres.createDatabase();
    await open(url);
    const client = new pg.Client(url);
    await client.connect();
    await client.query('INSERT INTO schema_migrations (version) VALUES (99)');
    await client.end();
    await assert.rejects(PostgresMessageStore.connect(url), /^Error: cannot use PostgreSQL at postgres:\/\/postgres@.*schema version 99, newer than this server knows \(4\)/);
  });

  it('fails fast while PostgreSQL is down, writes nothing half, and works again when it is back', async () => {
    const url = await postgres.createDatabase();
    const store = await open(url);
    await store.append({ room: 'r', userId: 'u', user: 'U', text: 'before' });
    await postgres.stop();
    try {
      const started = Date.now();
      await assert.rejects(store.append({ room: 'r', userId: 'u', user: 'U', text: 'during', clientId: 'c' }));
      assert.ok(Date.now() - started < 5_000, 'a failure, not a hang');
      await assert.rejects(store.latest('r', 10));
    } finally {
      await postgres.start();
    }
    const again = await store.append({ room: 'r', userId: 'u', user: 'U', text: 'during', clientId: 'c' });
    assert.deepEqual([again.created, again.message.id], [true, '2']);
    assert.deepEqual((await store.latest('r', 10)).messages.map((m) => m.text), ['before', 'during']);
  });
});
