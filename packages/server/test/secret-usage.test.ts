import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SecretUsage } from '../src/registry/secret-usage.js';
import type { NewClient } from '../src/store/contract.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { WalCheckpointer } from '../src/store/sqlite/wal-checkpointer.js';

function client(clientId: string, secretIds: string[]): NewClient {
  return {
    clientId,
    name: clientId,
    status: 'active',
    scopes: [],
    audiences: [],
    tokenTtl: null,
    authMethod: 'client_secret_basic',
    authConfig: {},
    grantTypes: ['client_credentials'],
    secrets: secretIds.map((id) => ({
      id,
      hash: `hmac-sha256$v1$${id}`,
      createdAt: 1_000,
      expiresAt: null,
      lastUsedAt: null,
    })),
  };
}

describe('secret last-use tracking', () => {
  let dir: string;
  let store: SqliteStore;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-secret-usage-'));
    store = new SqliteStore(join(dir, 'tessera.db'));
    await store.migrate();
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the latest use per client and secret until a flush writes it', async () => {
    await store.createClient(client('one', ['one-a', 'one-b']));
    await store.createClient(client('two', ['two-a']));
    const usage = new SecretUsage(store);
    usage.record('one', 'one-a', 2_000);
    usage.record('two', 'two-a', 2_001);
    usage.record('one', 'one-a', 2_005);
    usage.record('one', 'one-b', 2_003);
    assert.equal(usage.size, 3);
    const lastUsed = async (clientId: string) =>
      (await store.getClient(clientId))!.secrets.map((secret) => [secret.id, secret.lastUsedAt]);
    assert.deepEqual(await lastUsed('one'), [
      ['one-a', null],
      ['one-b', null],
    ]);
    await usage.flush();
    assert.equal(usage.size, 0);
    assert.deepEqual(await lastUsed('one'), [
      ['one-a', 2_005],
      ['one-b', 2_003],
    ]);
    assert.deepEqual(await lastUsed('two'), [['two-a', 2_001]]);
    // A use recorded after a flush is written by the next one.
    usage.record('two', 'two-a', 2_010);
    await usage.flush();
    assert.deepEqual(await lastUsed('two'), [['two-a', 2_010]]);
  });

  it('flushes thousands of clients in batches', async () => {
    const ids = Array.from({ length: 1_234 }, (_, i) => `bulk-${i}`);
    for (const id of ids) await store.createClient(client(id, [`${id}-s`]));
    const usage = new SecretUsage(store);
    for (const [i, id] of ids.entries()) usage.record(id, `${id}-s`, 3_000 + i);
    await usage.flush();
    for (const [i, id] of ids.entries()) {
      assert.equal((await store.getClient(id))!.secrets[0]!.lastUsedAt, 3_000 + i);
    }
  });
});

describe('WalCheckpointer', () => {
  it('copies the WAL into the database file from its own thread', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tessera-checkpoint-'));
    const path = join(dir, 'test.db');
    const db = new Database(path);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('wal_autocheckpoint = 0');
      db.exec('CREATE TABLE t (x TEXT)');
      const insert = db.prepare('INSERT INTO t VALUES (?)');
      db.transaction(() => {
        for (let i = 0; i < 2_000; i += 1) insert.run('x'.repeat(200));
      })();
      const before = (await stat(path)).size;
      const checkpointer = new WalCheckpointer(path);
      checkpointer.request();
      let after = before;
      for (let waited = 0; after === before && waited < 5_000; waited += 20) {
        await sleep(20);
        after = (await stat(path)).size;
      }
      assert.ok(after > before + 200_000, `database file grew from ${before} to ${after} bytes`);
      assert.equal(checkpointer.available, true);
      await checkpointer.close();
      assert.equal(checkpointer.available, false);
      assert.equal((db.prepare('SELECT COUNT(*) AS n FROM t').get() as { n: number }).n, 2_000);
    } finally {
      db.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
