import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { SilentProxy } from '../../testing/silent-proxy';
import { PostgresServer } from '../../testing/engines';
import { messageStoreConformance } from './conformance';
import { MAX_VISITED_ROOMS } from './directory';
import { directoryConformance } from './directory-conformance';
import { searchConformance } from './search-conformance';
import { MIGRATIONS, PostgresMessageStore, StoreUnavailable } from './postgres';

let postgres: PostgresServer;
before(async () => {
  postgres = await PostgresServer.start();
});
after(async () => {
  await postgres?.dispose();
});

messageStoreConformance('PostgresMessageStore', async (options) => PostgresMessageStore.connect(await postgres.createDatabase(), options));
directoryConformance('PostgresMessageStore', async (options) => PostgresMessageStore.connect(await postgres.createDatabase(), options));
searchConformance('PostgresMessageStore', async (options) => PostgresMessageStore.connect(await postgres.createDatabase(), options));

/**
 * A new database at the schema just before the first migration that includes `marker`, holding
 * `messages` appended through that schema's `chat_append` (room, user id, name, text, ts, client id).
 */
async function databaseBefore(marker: string, messages: ReadonlyArray<readonly [string, string, string, string, number, string | null]>): Promise<string> {
  const url = await postgres.createDatabase();
  const before = MIGRATIONS.findIndex((migration) => migration.includes(marker));
  const client = new pg.Client(url);
  await client.connect();
  try {
    await client.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    for (const [index, migration] of MIGRATIONS.slice(0, before).entries()) {
      await client.query(migration);
      await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [index + 1]);
    }
    for (const message of messages) await client.query('SELECT * FROM chat_append($1, $2, $3, $4, $5, $6)', [...message]);
  } finally {
    await client.end();
  }
  return url;
}

describe('PostgresMessageStore across processes', () => {
  const stores: PostgresMessageStore[] = [];
  const open = async (url: string): Promise<PostgresMessageStore> => {
    const store = await PostgresMessageStore.connect(url, { connectTimeoutMs: 500, probeMs: 50 });
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
    assert.deepEqual(
      versions.rows,
      MIGRATIONS.map((_, index) => ({ version: index + 1 })),
    );
    assert.equal(MIGRATIONS.length, 8);
  });

  it('creates an account once when two processes create it at once, telling the other which was taken', async () => {
    const url = await postgres.createDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const account = (userId: string, username: string) => ({ userId, username, usernameKey: username, passwordHash: `scrypt$${userId}`, createdAt: 1 });
    for (let round = 0; round < 5; round++) {
      const sameName = await Promise.all([a.directory.createAccount(account(`u_a${round}`, `名字${round}`)), b.directory.createAccount(account(`u_b${round}`, `名字${round}`))]);
      assert.deepEqual([...sameName].sort(), ['created', 'username_taken']);
      const sameUser = await Promise.all([a.directory.createAccount(account(`u_c${round}`, `甲${round}`)), b.directory.createAccount(account(`u_c${round}`, `乙${round}`))]);
      assert.deepEqual([...sameUser].sort(), ['account_exists', 'created']);
    }
    const winner = await b.directory.accountByUsername('名字0');
    assert.ok(winner?.userId === 'u_a0' || winner?.userId === 'u_b0');
  });

  it('creates a room once when two processes create it at once, with the members of the one that did', async () => {
    const url = await postgres.createDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const room = (ownerId: string) => ({ room: '_dm', kind: 'direct' as const, title: '', ownerId, createdAt: 1 });
    const created = await Promise.all([
      a.directory.createRoom(room('u_a'), [{ userId: 'u_a', name: '甲', role: 'owner' }]),
      b.directory.createRoom(room('u_b'), [{ userId: 'u_b', name: '乙', role: 'owner' }]),
    ]);
    assert.deepEqual([...created].sort(), [false, true]);
    const ownerId = created[0] ? 'u_a' : 'u_b';
    assert.equal((await a.directory.room('_dm'))?.ownerId, ownerId);
    assert.deepEqual((await b.directory.members('_dm', 10)).map((member) => member.userId), [ownerId]);
  });

  it("keeps at most the visited rooms' limit when one person visits from two processes at once", async () => {
    const url = await postgres.createDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]);
    const wave = 8;
    const visits = wave * Math.ceil((MAX_VISITED_ROOMS + 80) / wave);
    for (let n = 0; n < visits; n += wave) {
      await Promise.all(Array.from({ length: wave }, (_, step) => (step % 2 ? a : b).directory.recordVisit(`房间${n + step}`, 'u_an', '安', 1_000 + n + step)));
    }
    const rooms = await a.directory.roomsOf('u_an', 1_000);
    assert.equal(rooms.length, MAX_VISITED_ROOMS);
    assert.equal(rooms.at(-1)?.room, `房间${visits - MAX_VISITED_ROOMS}`, 'the oldest visits forgotten');
  });

  it('opens a database of the schema before the directory, keeping its messages, and records its rooms as public', async () => {
    const url = await postgres.createDatabase();
    // The database as the previous version left it: its five migrations, messages in two rooms.
    const client = new pg.Client(url);
    await client.connect();
    try {
      await client.query('CREATE TABLE schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      for (const [index, migration] of MIGRATIONS.slice(0, 5).entries()) {
        await client.query(migration);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [index + 1]);
      }
      const append = 'SELECT * FROM chat_append($1, $2, $3, $4, $5, $6)';
      await client.query(append, ['lobby', 'u_ana', '安娜', '第一条', 1_600_000_000_000, 'c-1']);
      await client.query(append, ['_old', 'u_bo', '波', '旧房间', 1_600_000_001_000, null]);
      await client.query(append, ['lobby', 'u_bo', '波', '第二条', 1_600_000_005_000, null]);
    } finally {
      await client.end();
    }

    const store = await open(url);
    assert.deepEqual((await store.latest('lobby', 10)).messages.map((m) => [m.id, m.user, m.text]), [['1', '安娜', '第一条'], ['2', '波', '第二条']]);
    assert.deepEqual((await store.latest('_old', 10)).messages.map((m) => m.text), ['旧房间']);
    assert.deepEqual(await store.directory.room('lobby'), { room: 'lobby', kind: 'public', title: '', ownerId: null, createdAt: 1_600_000_000_000 });
    assert.deepEqual(await store.directory.room('_old'), { room: '_old', kind: 'public', title: '', ownerId: null, createdAt: 1_600_000_001_000 });
    assert.equal(await store.directory.room('never-used'), null);
    assert.equal((await store.append({ room: 'lobby', userId: 'u_ana', user: '安娜', text: '新的' })).message.id, '3');
    assert.equal(
      await store.directory.createRoom({ room: '_old', kind: 'private', title: '占用', ownerId: 'u_cy', createdAt: Date.now() }, []),
      false,
      'an old room cannot be taken over as a private one',
    );
    const check = new pg.Client(url);
    await check.connect();
    const versions = await check.query<{ version: number }>('SELECT max(version) AS version FROM schema_migrations');
    await check.end();
    assert.equal(versions.rows[0]?.version, MIGRATIONS.length);
  });

  it('opens a database of the schema before events: its rows are messages that can be edited, deleted and reacted to', async () => {
    const url = await databaseBefore('ADD COLUMN kind', [
      ['lobby', 'u_ana', '安娜', '旧的话', Date.now(), 'c-1'],
      ['lobby', 'u_bo', '波', '旧的秘密', Date.now(), null]
    ]);
    const store = await open(url);
    assert.deepEqual((await store.after('lobby', '0', 10))?.map((entry) => ('kind' in entry ? entry.kind : 'message')), ['message', 'message']);
    assert.equal((await store.edit({ room: 'lobby', userId: 'u_ana', user: '安娜', target: '1', text: '新的话', editableSince: 0 })).ok, true);
    assert.equal((await store.remove({ room: 'lobby', userId: 'u_bo', user: '波', target: '2', as: 'author' })).ok, true);
    assert.equal((await store.react({ room: 'lobby', userId: 'u_bo', user: '波', target: '1', emoji: '👍' })).ok, true);
    const page = await store.latest('lobby', 10);
    assert.deepEqual(page.messages.map((m) => [m.id, m.text, m.deleted ?? false, m.reactions?.[0]?.count ?? 0]), [
      ['1', '新的话', false, 1],
      ['2', '', true, 0],
    ]);
    assert.equal(page.head, '5');
    const reply = await store.append({ room: 'lobby', userId: 'u_ana', user: '安娜', text: '回复', replyTo: '2' });
    assert.deepEqual(reply.message.replyTo, { id: '2', userId: 'u_bo', user: '波', text: '', deleted: true });
  });

  it('indexes the messages stored before search existed, in the migration, and those appended after', async () => {
    const url = await databaseBefore('CREATE TABLE message_search', [
      ['lobby', 'u_ana', '安娜', '明天在北京开会', 1_600_000_000_000, null],
      ['_p1', 'u_bo', '波', '北京见', 1_600_000_001_000, null],
      ['lobby', 'u_bo', '波', "See you in Beijing, it's late", 1_600_000_005_000, null]
    ]);
    const store = await open(url);
    const found = async (query: string, rooms: string[]) => (await store.search(rooms, query, { limit: 10 })).map((hit) => `${hit.room}/${hit.message.id}`);
    assert.deepEqual(await found('北京', ['lobby', '_p1']), ['_p1/1', 'lobby/1']);
    assert.deepEqual(await found("beijing it's", ['lobby']), ['lobby/2']);
    await store.append({ room: 'lobby', userId: 'u_ana', user: '安娜', text: '北京 again' });
    assert.deepEqual(await found('北京', ['lobby']), ['lobby/3', 'lobby/1']);

    assert.equal((await store.edit({ room: 'lobby', userId: 'u_ana', user: '安娜', target: '1', text: '改过的 edited', editableSince: 0 })).ok, true);
    assert.equal((await store.remove({ room: 'lobby', userId: 'u_ana', user: '安娜', target: '3', as: 'author' })).ok, true);
    assert.deepEqual(await found('北京', ['lobby']), []);
    assert.deepEqual(await found('edited 改过', ['lobby']), ['lobby/1']);
  });

  it('refuses a database from a newer server, in one line', async () => {
    const url = await postgres.createDatabase();
    await open(url);
    const client = new pg.Client(url);
    await client.connect();
    await client.query('INSERT INTO schema_migrations (version) VALUES (99)');
    await client.end();
    await assert.rejects(PostgresMessageStore.connect(url), new RegExp(`^Error: cannot use PostgreSQL at postgres://postgres@.*schema version 99, newer than this server knows \\(${MIGRATIONS.length}\\)`));
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
    // Found unreachable, the store refuses calls at once until its probe finds PostgreSQL again.
    await store.whenReachable();
    const again = await store.append({ room: 'r', userId: 'u', user: 'U', text: 'during', clientId: 'c' });
    assert.deepEqual([again.created, again.message.id], [true, '2']);
    assert.deepEqual((await store.latest('r', 10)).messages.map((m) => m.text), ['before', 'during']);
  });

  it('refuses calls within the query timeout when PostgreSQL goes silent, logs the outage once, and is back after', { timeout: 20_000 }, async () => {
    const url = await postgres.createDatabase();
    const proxy = await SilentProxy.start(postgres.port);
    const lines: Array<{ message: string; fields: Record<string, unknown> }> = [];
    const record = (message: string, fields: Record<string, unknown> = {}) => void lines.push({ message, fields });
    const logger = { debug: record, info: record, warn: record, error: record };
    const viaProxy = url.replace(`:${postgres.port}/`, `:${proxy.port}/`);
    const store = await PostgresMessageStore.connect(viaProxy, { logger, queryTimeoutMs: 300, connectTimeoutMs: 300, probeMs: 50 });
    stores.push(store);
    try {
      await store.append({ room: 'r', userId: 'u', user: 'U', text: 'before' });
      proxy.cut();
      const started = Date.now();
      await assert.rejects(store.append({ room: 'r', userId: 'u', user: 'U', text: 'during', clientId: 'silent-1' }), StoreUnavailable);
      assert.ok(Date.now() - started < 3_000, `refused after ${Date.now() - started} ms, not left hanging`);
      // Known to be away now: refused at once, without waiting for another timeout.
      const next = Date.now();
      await assert.rejects(store.latest('r', 10), StoreUnavailable);
      await assert.rejects(store.ping(), StoreUnavailable);
      await assert.rejects(store.directory.roomsOf('u', 10), StoreUnavailable);
      await assert.rejects(store.directory.createAccount({ userId: 'u', username: '用户', usernameKey: '用户', passwordHash: 'x', createdAt: 1 }), StoreUnavailable);
      assert.ok(Date.now() - next < 100);
      assert.deepEqual(lines.filter((line) => line.message === 'postgres unreachable').length, 1);
      proxy.heal();
      await store.whenReachable();
      const back = lines.find((line) => line.message === 'postgres reachable again');
      assert.ok(typeof back?.fields.downMs === 'number');
      // The refused message, sent again with its client_id, is stored once, whether or not the
      // first attempt reached the database after all.
      const again = await store.append({ room: 'r', userId: 'u', user: 'U', text: 'during', clientId: 'silent-1' });
      assert.equal(again.message.id, '2');
      assert.deepEqual((await store.latest('r', 10)).messages.map((m) => m.text), ['before', 'during']);
      assert.deepEqual(await store.directory.roomsOf('u', 10), []);
    } finally {
      await proxy.close();
    }
  });

  it('stays up when a query the outage stranded on a connection of the old pool fails after the recovery', { timeout: 20_000 }, async () => {
    const url = await postgres.createDatabase();
    const proxy = await SilentProxy.start(postgres.port);
    const lines: string[] = [];
    const record = (message: string) => void lines.push(message);
    const logger = { debug: record, info: record, warn: record, error: record };
    const viaProxy = url.replace(`:${postgres.port}/`, `:${proxy.port}/`);
    // A query waits long for its answer; a new connection gives up soon.
    const store = await PostgresMessageStore.connect(viaProxy, { logger, queryTimeoutMs: 15_000, connectTimeoutMs: 300, probeMs: 50 });
    stores.push(store);
    try {
      await store.append({ room: 'r', userId: 'u', user: 'U', text: 'before' });
      proxy.cut();
      // One query waits on the pool's open connection; the next needs a new one, which cannot connect.
      const stranded = store.latest('r', 10);
      await assert.rejects(store.latest('r', 10), StoreUnavailable);
      proxy.healNewOnly();
      await store.whenReachable();
      // The old connection dies now, after the recovery: its query fails, and that is all.
      proxy.dropStranded();
      await assert.rejects(stranded, StoreUnavailable);
      assert.equal(store.reachable, true);
      assert.deepEqual(
        lines.filter((line) => line.startsWith('postgres')),
        ['postgres unreachable', 'postgres reachable again'],
      );
      assert.deepEqual((await store.latest('r', 10)).messages.map((m) => m.text), ['before']);
    } finally {
      await proxy.close();
    }
  });

  it("hears every room's newest id as any process commits it, and is told when it may have missed some", { timeout: 20_000 }, async () => {
    const url = await postgres.createDatabase();
    const proxy = await SilentProxy.start(postgres.port);
    const writer = await open(url);
    const watcher = await PostgresMessageStore.connect(url.replace(`:${postgres.port}/`, `:${proxy.port}/`), { listenHeartbeatMs: 50, queryTimeoutMs: 200, connectTimeoutMs: 200 });
    stores.push(watcher);
    const heads: string[] = [];
    let missed = 0;
    let lost = 0;
    let wake: (() => void) | null = null;
    const stop = watcher.watchHeads({
      head: (room, id) => {
        heads.push(`${room}:${id}`);
        wake?.();
      },
      missed: () => {
        missed++;
        wake?.();
      },
      lost: () => {
        lost++;
        wake?.();
      },
    });
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise<void>((resolve) => (wake = resolve));
    };
    try {
      // The listening connection is made lazily: an append in a moment tells whether it listens.
      let kitchen = 0;
      while (heads.length === 0) {
        await writer.append({ room: 'kitchen', userId: 'u', user: 'U', text: `m${++kitchen}` });
        await Promise.race([until(() => heads.length > 0), new Promise((resolve) => setTimeout(resolve, 100))]);
      }
      const first = heads.length;
      await writer.append({ room: 'porch', userId: 'u', user: 'U', text: 'hello' });
      await until(() => heads.length > first);
      assert.equal(heads.at(-1), 'porch:1');
      assert.deepEqual(new Set(heads.slice(0, first).map((head) => head.split(':')[0])), new Set(['kitchen']));
      proxy.cut();
      await until(() => lost > 0);
      await writer.append({ room: 'porch', userId: 'u', user: 'U', text: 'unheard' });
      proxy.heal();
      await until(() => missed > 0);
      assert.deepEqual([...(await watcher.heads(['porch', 'kitchen', 'nowhere']))].sort(), [['kitchen', String(kitchen)], ['porch', '2']]);
    } finally {
      stop();
      await proxy.close();
    }
  });
});
