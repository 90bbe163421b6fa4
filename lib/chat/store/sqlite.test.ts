import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { messageStoreConformance } from './conformance';
import { directoryConformance } from './directory-conformance';
import { searchConformance } from './search-conformance';
import { MIGRATIONS, SqliteMessageStore } from './sqlite';
import { QUEUED, registerSearchFunctions } from './sqlite-search';
import { openSqlite } from './sqlite-driver';

const folders: string[] = [];
async function tempFile(): Promise<string> {
  const folder = await mkdtemp(path.join(tmpdir(), 'chat-sqlite-'));
  folders.push(folder);
  return path.join(folder, 'nested', 'chat.db');
}
after(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

messageStoreConformance('SqliteMessageStore', async (options) => new SqliteMessageStore(await tempFile(), options));
directoryConformance('SqliteMessageStore', async (options) => new SqliteMessageStore(await tempFile(), options));
searchConformance('SqliteMessageStore', async (options) => new SqliteMessageStore(await tempFile(), options));

describe('SqliteMessageStore on disk', () => {
  it('keeps messages across a reopen, and goes on numbering after them', async () => {
    const file = await tempFile();
    const first = new SqliteMessageStore(file);
    await first.append({ room: 'r', userId: 'u', user: 'U', text: '持久', clientId: 'c1' });
    await first.close();
    const again = new SqliteMessageStore(file);
    assert.deepEqual((await again.latest('r', 10)).messages.map((m) => m.text), ['持久']);
    assert.equal((await again.append({ room: 'r', userId: 'u', user: 'U', text: 'x', clientId: 'c1' })).created, false);
    assert.equal((await again.append({ room: 'r', userId: 'u', user: 'U', text: 'next' })).message.id, '2');
    await again.close();
  });

  it('keeps a revoked session revoked across a reopen', async () => {
    const file = await tempFile();
    const first = new SqliteMessageStore(file);
    await first.revokeSession('s_ana', Date.now() + 60_000);
    await first.close();
    const again = new SqliteMessageStore(file);
    assert.equal(await again.isSessionRevoked('s_ana'), true);
    await again.close();
  });

  it('commits the appends of one turn together, each with its own answer, a bad one failing alone', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file);
    const message = (text: string, clientId?: string) => ({ room: 'r', userId: 'u', user: 'U', text, ...(clientId ? { clientId } : {}) });
    const settled = await Promise.allSettled([
      store.append(message('一', 'c1')),
      store.append(message('二', 'c1')),
      // Not a string: the database refuses to bind it.
      store.append({ ...message('bad'), text: {} as unknown as string }),
      store.append(message('三')),
    ]);
    assert.deepEqual(
      settled.map((result) => (result.status === 'fulfilled' ? [result.value.message.id, result.value.created] : 'rejected')),
      [['1', true], ['1', false], 'rejected', ['2', true]],
    );
    assert.deepEqual((await store.latest('r', 10)).messages.map((m) => m.text), ['一', '三']);
    await store.close();
  });

  it('commits an append to an idle store at the end of its turn, and holds those soon after a commit to commit them together', async () => {
    const windowMs = 300;
    const store = new SqliteMessageStore(await tempFile(), { groupCommitMs: windowMs });
    const message = (text: string) => ({ room: 'r', userId: 'u', user: 'U', text });
    try {
      const started = performance.now();
      await store.append(message('一'));
      assert.ok(performance.now() - started < windowMs, 'the first append waited for a window');
      const committed: string[] = [];
      const second = store.append(message('二')).then((appended) => committed.push(appended.message.id));
      await new Promise(setImmediate);
      await new Promise(setImmediate);
      assert.equal(committed.length, 0, 'an append right after a commit went alone');
      const third = store.append(message('三')).then((appended) => committed.push(appended.message.id));
      await Promise.all([second, third]);
      // A timer may fire up to a millisecond early by this clock (the event loop's own is coarser).
      assert.ok(performance.now() - started >= windowMs - 2, 'the held appends did not wait for the window');
      assert.deepEqual(committed, ['2', '3']);
      assert.deepEqual((await store.latest('r', 10)).messages.map((m) => m.text), ['一', '二', '三']);
    } finally {
      await store.close();
    }
  });

  it('never keeps its process alive: one that leaves a store open still exits', async () => {
    const file = await tempFile();
    const script = `const { SqliteMessageStore } = require(${JSON.stringify(path.join(__dirname, 'sqlite.ts'))});
const store = new SqliteMessageStore(${JSON.stringify(file)}, { checkpointIntervalMs: 1 });
store.append({ room: 'r', userId: 'u', user: 'U', text: 'left open' }).then(() => console.log('appended'));`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      const [code, signal] = (await new Promise((resolve) => child.once('exit', (...args) => resolve(args)))) as [number | null, string | null];
      assert.deepEqual([output.trim(), code, signal], ['appended', 0, null], 'the process had to be killed: something of the store kept it alive');
    } finally {
      clearTimeout(deadline);
    }
  });

  it('commits what is waiting when it closes, and refuses appends after', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file);
    const pending = store.append({ room: 'r', userId: 'u', user: 'U', text: 'last words' });
    await store.close();
    assert.equal((await pending).message.id, '1');
    await assert.rejects(store.append({ room: 'r', userId: 'u', user: 'U', text: 'too late' }), /closed/);
    const again = new SqliteMessageStore(file);
    assert.deepEqual((await again.latest('r', 10)).messages.map((m) => m.text), ['last words']);
    await again.close();
  });

  it('checkpoints the log into the database file off the main thread, where commits do not wait for it', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file, { checkpointIntervalMs: 10 });
    const before = statSync(file).size;
    await Promise.all(Array.from({ length: 200 }, (_, n) => store.append({ room: 'r', userId: 'u', user: 'U', text: `${n} ${'长'.repeat(500)}` })));
    const deadline = Date.now() + 5_000;
    while (statSync(file).size <= before) {
      assert.ok(Date.now() < deadline, 'the database file never grew: nothing was checkpointed');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await store.close();
  });

  it('serves the newest page of a room from memory exactly as the database has it', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file);
    const fresh = async (limit: number) => {
      const reader = new SqliteMessageStore(file);
      const page = await reader.latest('r', limit);
      await reader.close();
      return page;
    };
    for (let n = 1; n <= 65; n++) {
      await store.append({ room: 'r', userId: 'u', user: 'U', text: `m${n}`, ...(n % 7 === 0 ? { clientId: 'again' } : {}) });
      if (n % 8 !== 0 && n !== 1 && n !== 65) continue;
      for (const limit of [1, 10, 50, 60]) assert.deepEqual(await store.latest('r', limit), await fresh(limit), `after ${n}, limit ${limit}`);
    }
    assert.deepEqual(await store.latest('empty', 50), { messages: [], hasMore: false });
    await store.close();
  });

  it('creates its database, log and shared memory readable by this user only, in a folder of its own', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file);
    await store.append({ room: 'r', userId: 'u', user: 'U', text: '私密' });
    const modes = ['', '-wal', '-shm'].map((suffix) => statSync(`${file}${suffix}`).mode & 0o777);
    assert.deepEqual(modes, [0o600, 0o600, 0o600]);
    assert.equal(statSync(path.dirname(file)).mode & 0o777, 0o700);
    await store.close();
  });

  it('uses write-ahead logging', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file);
    await store.close();
    const db = openSqlite(file);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('refuses a database from a newer server, saying so', async () => {
    const file = await tempFile();
    await new SqliteMessageStore(file).close();
    const db = openSqlite(file);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => new SqliteMessageStore(file), new RegExp(`schema version 99, newer than this server knows \\(${MIGRATIONS.length}\\)`));
  });

  it('indexes the messages stored before search existed, as the migration runs', async () => {
    const file = await tempFile();
    await new SqliteMessageStore(file).close();
    rmSync(file);
    const old = openSqlite(file);
    for (const migration of MIGRATIONS.slice(0, 3)) old.exec(migration);
    old.pragma('user_version = 3');
    const insert = old.prepare('INSERT INTO messages (room, id, user_id, user_name, body, ts, client_id) VALUES (?, ?, ?, ?, ?, ?, ?)');
    insert.run('lobby', 1, 'u_ana', '安娜', '明天在北京开会', 1_600_000_000_000, null);
    insert.run('lobby', 2, 'u_bo', '波', 'See you in Beijing', 1_600_000_005_000, null);
    insert.run('_p1', 1, 'u_bo', '波', '北京见', 1_600_000_001_000, null);
    old.close();

    const store = new SqliteMessageStore(file);
    try {
      const found = async (query: string, rooms: string[]) => (await store.search(rooms, query, { limit: 10 })).map((hit) => `${hit.room}/${hit.message.id}`);
      assert.deepEqual(await found('北京', ['lobby', '_p1']), ['_p1/1', 'lobby/1']);
      assert.deepEqual(await found('beijing', ['lobby']), ['lobby/2']);
      await store.append({ room: 'lobby', userId: 'u_ana', user: '安娜', text: '北京 again' });
      assert.deepEqual(await found('北京', ['lobby']), ['lobby/3', 'lobby/1']);
    } finally {
      await store.close();
    }
  });

  it('keeps what a database of the previous schema had indexed, and indexes what it had queued', async () => {
    const file = await tempFile();
    await new SqliteMessageStore(file).close();
    rmSync(file);
    // The schema before the contentless index and the queue in order: one message indexed, two queued.
    const before = MIGRATIONS.length - 2;
    const old = openSqlite(file);
    registerSearchFunctions(old);
    for (const migration of MIGRATIONS.slice(0, before)) old.exec(migration);
    old.pragma(`user_version = ${before}`);
    const insert = old.prepare('INSERT INTO messages (room, id, user_id, user_name, body, ts, client_id) VALUES (?, ?, ?, ?, ?, ?, ?)');
    insert.run('lobby', 1, 'u_ana', '安娜', '北京 indexed', 1_600_000_000_000, null);
    insert.run('lobby', 2, 'u_bo', '波', '北京 queued', 1_600_000_001_000, null);
    insert.run('_p1', 1, 'u_bo', '波', '北京 also queued', 1_600_000_002_000, null);
    const { lastInsertRowid } = old.prepare("INSERT INTO search_docs (room, id) VALUES ('lobby', 1)").run();
    old.prepare('INSERT INTO search_index (rowid, tokens) VALUES (?, ?)').run(lastInsertRowid, '北京 京 indexed');
    old.exec("INSERT INTO search_backlog (room, id) VALUES ('lobby', 2), ('_p1', 1)");
    old.close();

    const store = new SqliteMessageStore(file, { searchIndexDelayMs: 60_000 });
    try {
      const reader = openSqlite(file);
      assert.deepEqual(reader.prepare('SELECT room, id FROM search_queue ORDER BY seq').all(), [{ room: '_p1', id: 1 }, { room: 'lobby', id: 2 }]);
      reader.close();
      const hits = await store.search(['lobby', '_p1'], '北京', { limit: 10 });
      assert.deepEqual(hits.map((hit) => `${hit.room}/${hit.message.id}`).sort(), ['_p1/1', 'lobby/1', 'lobby/2']);
    } finally {
      await store.close();
    }
    const db = openSqlite(file);
    assert.deepEqual(db.prepare('SELECT * FROM search_queue').all(), []);
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_schema WHERE name IN ('search_backlog', 'search_index_content')").all(), []);
    db.close();
  });

  it('keeps the search index in step with the messages: an append that fails leaves no index row', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file);
    const settled = await Promise.allSettled([
      store.append({ room: 'r', userId: 'u', user: 'U', text: '北京 one' }),
      store.append({ room: 'r', userId: 'u', user: 'U', text: {} as unknown as string }),
    ]);
    assert.deepEqual(settled.map((result) => result.status), ['fulfilled', 'rejected']);
    await store.close();
    const db = openSqlite(file);
    assert.deepEqual(db.prepare('SELECT room, id FROM search_docs').all(), [{ room: 'r', id: 1 }]);
    // Contentless: the index answers a match with the rowid and keeps no copy of the tokens.
    assert.deepEqual(db.prepare("SELECT rowid, tokens FROM search_index WHERE search_index MATCH '\"北京\"'").all(), [{ rowid: 1, tokens: null }]);
    assert.deepEqual(db.prepare("SELECT name FROM sqlite_schema WHERE name = 'search_index_content'").all(), []);
    db.close();
  });

  it('starts its log over under steady writes, where passive checkpoints alone let it grow without end', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file, { checkpointIntervalMs: 1, logRestartFrames: 64 });
    // The log's header counts the times it started over (its checkpoint sequence number).
    const restarts = (): number => {
      const header = Buffer.alloc(16);
      const descriptor = openSync(`${file}-wal`, 'r');
      try {
        readSync(descriptor, header, 0, 16, 0);
      } finally {
        closeSync(descriptor);
      }
      return header.readUInt32BE(12);
    };
    let appended = 0;
    try {
      // Batches of 10 messages over 100 rooms, never a pause, until the log has started over
      // three times: with passive checkpoints alone it never did in 20,000 messages (113 MB of log).
      while (appended < 20_000 && !(appended % 1_000 === 0 && appended > 0 && restarts() >= 3)) {
        await Promise.all(Array.from({ length: 10 }, () => store.append({ room: `r${appended % 100}`, userId: 'u', user: 'U', text: `第 ${appended++} 条` })));
      }
      assert.ok(restarts() >= 3, `the log started over ${restarts()} times in ${appended} messages; it is ${statSync(`${file}-wal`).size} bytes`);
      const last = appended - 100 + 7;
      assert.equal((await store.latest('r7', 1)).messages[0]?.text, `第 ${last} 条`);
    } finally {
      await store.close();
    }
  });

  it('indexes new messages a moment after their commit, many in one transaction, and a search first', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file, { searchIndexDelayMs: 60_000 });
    const reader = openSqlite(file);
    const indexed = () => (reader.prepare('SELECT COUNT(*) AS n FROM search_docs').get() as { n: number }).n;
    const queued = () => (reader.prepare('SELECT COUNT(*) AS n FROM search_queue').get() as { n: number }).n;
    try {
      for (const text of ['北京 one', '上海 two', '北京 three']) await store.append({ room: 'r', userId: 'u', user: 'U', text });
      assert.deepEqual([indexed(), queued()], [0, 3], 'committed, queued, not indexed yet');
      const hits = await store.search(['r'], '北京', { limit: 10 });
      assert.deepEqual(hits.map((hit) => hit.message.text), ['北京 three', '北京 one']);
      assert.deepEqual([indexed(), queued()], [3, 0]);
    } finally {
      reader.close();
      await store.close();
    }
  });

  it('indexes after a crash what was stored but not indexed, and never a message deleted meanwhile', async () => {
    const file = await tempFile();
    const crashed = new SqliteMessageStore(file, { searchIndexDelayMs: 60_000 });
    await crashed.append({ room: 'r', userId: 'u', user: 'U', text: '留下 kept' });
    await crashed.append({ room: 'r', userId: 'u', user: 'U', text: 'zqxsecretword 绝密暗号' });
    // Never closed (closing indexes what waits): its queue stays in the file, as a crash leaves it.
    const again = new SqliteMessageStore(file, { searchIndexDelayMs: 60_000 });
    assert.equal((await again.remove({ room: 'r', userId: 'u', user: 'U', target: '2', as: 'author' })).ok, true);
    assert.deepEqual((await again.search(['r'], 'kept', { limit: 10 })).map((hit) => hit.message.id), ['1']);
    assert.deepEqual(await again.search(['r'], 'zqxsecretword', { limit: 10 }), []);
    await again.close();
    const db = openSqlite(file);
    assert.deepEqual(db.prepare('SELECT room, id FROM search_docs').all(), [{ room: 'r', id: 1 }]);
    assert.deepEqual(db.prepare('SELECT * FROM search_queue').all(), []);
    db.close();
  });

  it('reads the messages waiting for the index by the queue, never by scanning the log', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file);
    await store.close();
    const db = openSqlite(file);
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${QUEUED}`).all(10) as { detail: string }[]).map((row) => row.detail);
    db.close();
    assert.deepEqual(plan, ['SCAN q', 'SEARCH m USING PRIMARY KEY (room=? AND id=?)']);
  });

  it('goes on indexing by itself, a chunk per turn, with no search asking', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file, { searchIndexDelayMs: 1 });
    const reader = openSqlite(file);
    try {
      const texts = Array.from({ length: 600 }, (_, index) => `message ${index}`);
      await Promise.all(texts.map((text) => store.append({ room: 'r', userId: 'u', user: 'U', text })));
      const queued = () => (reader.prepare('SELECT COUNT(*) AS n FROM search_queue').get() as { n: number }).n;
      const seen: number[] = [queued()];
      while (seen.at(-1)! > 0) {
        await new Promise((resolve) => setImmediate(resolve));
        if (queued() !== seen.at(-1)) seen.push(queued());
      }
      assert.deepEqual(seen, [600, 344, 88, 0], 'chunks of 256');
    } finally {
      reader.close();
      await store.close();
    }
  });

  it('numbers from memory after a failed transaction exactly as the file does', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file);
    await store.append({ room: 'r', userId: 'u', user: 'U', text: 'one' });
    // The batch fails as a whole (ids 2 and 3 taken, then rolled back), then each is stored alone.
    const settled = await Promise.allSettled([
      store.append({ room: 'r', userId: 'u', user: 'U', text: 'two' }),
      store.append({ room: 'r', userId: 'u', user: 'U', text: {} as unknown as string }),
      store.append({ room: 'r', userId: 'u', user: 'U', text: 'three' }),
    ]);
    assert.deepEqual(settled.map((result) => (result.status === 'fulfilled' ? result.value.message.id : 'rejected')), ['2', 'rejected', '3']);
    const edit = await store.edit({ room: 'r', userId: 'u', user: 'U', target: '1', text: 'uno', editableSince: 0 });
    assert.equal(edit.ok && edit.event.id, '4');
    assert.deepEqual([...(await store.heads(['r']))], [['r', '4']]);
    await store.close();
    const again = new SqliteMessageStore(file);
    assert.equal((await again.append({ room: 'r', userId: 'u', user: 'U', text: 'four' })).message.id, '5');
    await again.close();
  });

  it('writes the visits of one turn together, and those still waiting when it closes', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file);
    await Promise.all(['大厅', 'lobby', 'random'].map((room, index) => store.directory.recordVisit(room, 'u_an', '安', 1_000 + index)));
    assert.deepEqual((await store.directory.roomsOf('u_an', 10)).map((entry) => entry.room), ['random', 'lobby', '大厅']);
    const waiting = store.directory.recordVisit('closing', 'u_an', '安', 2_000);
    await store.close();
    await waiting;
    const again = new SqliteMessageStore(file);
    assert.deepEqual((await again.directory.roomsOf('u_an', 10)).map((entry) => entry.room), ['closing', 'random', 'lobby', '大厅']);
    await again.close();
  });

  it('writes the read markers of one turn together at its end, each with its own answer, and those still waiting when it closes', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file);
    const room = { room: '_书房', kind: 'private' as const, title: '书房', ownerId: 'u_an', createdAt: 1_000 };
    const people = ['u_an', 'u_bo', 'u_cy'];
    await store.directory.createRoom(room, people.map((userId) => ({ userId, name: userId, role: 'member' as const })));
    const reader = openSqlite(file, { readonly: true });
    const lastRead = reader.prepare<[string, string], { last_read: number | null }>('SELECT last_read FROM room_members WHERE room = ? AND user_id = ?');
    const marked = [
      store.directory.markRead('_书房', 'u_an', '5'),
      store.directory.markRead('_书房', 'u_bo', '7'),
      store.directory.markRead('_书房', 'u_an', '4'),
      store.directory.markRead('_书房', 'u_nobody', '9'),
    ];
    // Nothing is committed while the turn runs: another connection sees none of them yet.
    assert.equal(lastRead.get('_书房', 'u_an')?.last_read, null);
    assert.deepEqual(await Promise.all(marked), [true, true, false, false]);
    assert.deepEqual(people.map((userId) => lastRead.get('_书房', userId)?.last_read), [5, 7, null]);
    const waiting = store.directory.markRead('_书房', 'u_cy', '3');
    await store.close();
    assert.equal(await waiting, true);
    assert.equal(lastRead.get('_书房', 'u_cy')?.last_read, 3);
    reader.close();
  });

  it('leaves no token of a deleted message in the file, index included', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file);
    await store.append({ room: 'r', userId: 'u', user: 'U', text: '留下 kept' });
    await store.append({ room: 'r', userId: 'u', user: 'U', text: 'zqxsecretword 绝密暗号' });
    assert.equal((await store.remove({ room: 'r', userId: 'u', user: 'U', target: '2', as: 'author' })).ok, true);
    await store.close();
    const db = openSqlite(file);
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.close();
    const bytes = readFileSync(file);
    for (const secret of ['zqxsecretword', '绝密', '暗号']) assert.equal(bytes.includes(Buffer.from(secret)), false, secret);
    assert.equal(bytes.includes(Buffer.from('留下')), true);
  });

  it('opens a database of the schema before the directory, keeping its messages, and records its rooms as public', async () => {
    const file = await tempFile();
    await new SqliteMessageStore(file).close();
    // The same file as the previous version left it: its two migrations, messages in two rooms.
    rmSync(file);
    const old = openSqlite(file);
    for (const migration of MIGRATIONS.slice(0, 2)) old.exec(migration);
    old.pragma('user_version = 2');
    const insert = old.prepare('INSERT INTO messages (room, id, user_id, user_name, body, ts, client_id) VALUES (?, ?, ?, ?, ?, ?, ?)');
    insert.run('lobby', 1, 'u_ana', '安娜', '第一条', 1_600_000_000_000, 'c-1');
    insert.run('lobby', 2, 'u_bo', '波', '第二条', 1_600_000_005_000, null);
    insert.run('_old', 1, 'u_bo', '波', '旧房间', 1_600_000_001_000, null);
    old.close();

    const store = new SqliteMessageStore(file);
    try {
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
    } finally {
      await store.close();
    }
    const db = openSqlite(file);
    assert.equal(db.pragma('user_version', { simple: true }), MIGRATIONS.length);
    db.close();
  });

  it('opens a database of the schema before events: its rows are messages that can be edited, deleted and reacted to', async () => {
    const file = await tempFile();
    await new SqliteMessageStore(file).close();
    rmSync(file);
    const old = openSqlite(file);
    const before = MIGRATIONS.findIndex((migration) => migration.includes("ADD COLUMN kind"));
    for (const migration of MIGRATIONS.slice(0, before)) old.exec(migration);
    old.pragma(`user_version = ${before}`);
    const insert = old.prepare('INSERT INTO messages (room, id, user_id, user_name, body, ts, client_id) VALUES (?, ?, ?, ?, ?, ?, ?)');
    insert.run('lobby', 1, 'u_ana', '安娜', '旧的话', Date.now(), 'c-1');
    insert.run('lobby', 2, 'u_bo', '波', '旧的秘密', Date.now(), null);
    old.close();

    const store = new SqliteMessageStore(file);
    try {
      const kinds = (await store.after('lobby', '0', 10))?.map((entry) => ('kind' in entry ? entry.kind : 'message'));
      assert.deepEqual(kinds, ['message', 'message']);
      assert.equal((await store.edit({ room: 'lobby', userId: 'u_ana', user: '安娜', target: '1', text: '新的话', editableSince: 0 })).ok, true);
      assert.equal((await store.remove({ room: 'lobby', userId: 'u_bo', user: '波', target: '2', as: 'author' })).ok, true);
      assert.equal((await store.react({ room: 'lobby', userId: 'u_bo', user: '波', target: '1', emoji: '👍' })).ok, true);
      const page = await store.latest('lobby', 10);
      assert.deepEqual(page.messages.map((m) => [m.id, m.text, m.deleted ?? false, m.reactions?.[0]?.count ?? 0]), [
        ['1', '新的话', false, 1],
        ['2', '', true, 0],
      ]);
      assert.equal(page.head, '5');
    } finally {
      await store.close();
    }
    // Nothing of the deleted text is left in the file, the log folded in by the close.
    assert.equal(readFileSync(file).includes(Buffer.from('旧的秘密')), false);
  });
});
