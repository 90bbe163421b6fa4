import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { messageStoreConformance } from './conformance';
import { SqliteMessageStore } from './sqlite';

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

  it('uses write-ahead logging', async () => {
    const file = await tempFile();
    const store = new SqliteMessageStore(file);
    await store.close();
    const db = new Database(file);
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
  });

  it('refuses a database from a newer server, saying so', async () => {
    const file = await tempFile();
    await new SqliteMessageStore(file).close();
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => new SqliteMessageStore(file), /schema version 99, newer than this server knows \(1\)/);
  });
});
