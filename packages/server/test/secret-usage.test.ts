import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SecretUsage } from '../src/registry/secret-usage.js';
import type { NewClient } from '../src/store/contract.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { SecretUseWriter } from '../src/store/sqlite/secret-use-writer.js';

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
    // Later uses are written once they are a resolution (60 s) past the last write.
    usage.record('two', 'two-a', 2_010);
    assert.equal(usage.size, 0);
    await usage.flush();
    assert.deepEqual(await lastUsed('two'), [['two-a', 2_001]]);
    usage.record('two', 'two-a', 2_061);
    assert.equal(usage.size, 1);
    await usage.flush();
    assert.deepEqual(await lastUsed('two'), [['two-a', 2_061]]);
  });

  it('writes each secret at most once per resolution, and forgets idle ones', async () => {
    await store.createClient(client('busy', ['busy-a']));
    let writes = 0;
    const counting = Object.create(store) as SqliteStore;
    counting.recordSecretUse = async (uses) => {
      writes += uses.length;
      return store.recordSecretUse(uses);
    };
    let now = 5_000;
    const usage = new SecretUsage(counting, { resolutionSeconds: 60, nowSeconds: () => now });
    // One use per second for five minutes, flushed every 10 s: 5 writes, not 30. Each write
    // stores the latest use at its flush (5009, 5069, …, 5249).
    for (; now < 5_300; now += 1) {
      usage.record('busy', 'busy-a', now);
      if (now % 10 === 9) await usage.flush();
    }
    await usage.flush();
    assert.equal(writes, 5);
    assert.equal((await store.getClient('busy'))!.secrets[0]!.lastUsedAt, 5_249);
    // Unused for longer than the resolution: dropped at a flush; the next use is written.
    assert.equal(usage.tracked, 1);
    now = 5_400;
    await usage.flush();
    assert.equal(writes, 5);
    assert.equal(usage.tracked, 0);
    usage.record('busy', 'busy-a', 5_401);
    assert.equal(usage.size, 1);
    await usage.flush();
    assert.equal(writes, 6);
    assert.equal((await store.getClient('busy'))!.secrets[0]!.lastUsedAt, 5_401);
  });

  it('keeps uses a failed write did not store for the next flush', async () => {
    await store.createClient(client('flaky', ['flaky-a']));
    let fail = true;
    const flaky = Object.create(store) as SqliteStore;
    flaky.recordSecretUse = async (uses) => {
      if (fail) throw new Error('database unavailable');
      return store.recordSecretUse(uses);
    };
    const usage = new SecretUsage(flaky);
    usage.record('flaky', 'flaky-a', 6_000);
    await assert.rejects(usage.flush(), /database unavailable/);
    assert.equal(usage.size, 1);
    fail = false;
    await usage.flush();
    assert.equal((await store.getClient('flaky'))!.secrets[0]!.lastUsedAt, 6_000);
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

describe('SecretUseWriter', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-secret-use-writer-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  function database(name: string, schema: string): string {
    const path = join(dir, name);
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.exec(schema);
    db.close();
    return path;
  }
  const table =
    'CREATE TABLE client_secrets (id TEXT PRIMARY KEY, client_id TEXT NOT NULL, last_used_at INTEGER);';

  it('commits from its own thread; the write is visible to other connections when it resolves', async () => {
    const path = database('ok.db', `${table} INSERT INTO client_secrets VALUES ('s1', 'c1', 50);`);
    const writer = new SecretUseWriter(path);
    const reader = new Database(path);
    try {
      await writer.write([
        { clientId: 'c1', secretId: 's1', at: 40 },
        { clientId: 'c1', secretId: 'missing', at: 90 },
      ]);
      await writer.write([{ clientId: 'c1', secretId: 's1', at: 70 }]);
      assert.deepEqual(reader.prepare('SELECT id, last_used_at FROM client_secrets').all(), [
        { id: 's1', last_used_at: 70 },
      ]);
      await writer.close();
      assert.equal(writer.available, false);
    } finally {
      reader.close();
    }
  });

  it('rejects with the SQLite error code, which the write guard maps', async () => {
    const path = database(
      'refuses.db',
      `${table} CREATE TRIGGER refuse BEFORE UPDATE ON client_secrets BEGIN SELECT RAISE(ABORT, 'refused'); END;
       INSERT INTO client_secrets VALUES ('s1', 'c1', NULL);`,
    );
    const writer = new SecretUseWriter(path);
    await assert.rejects(writer.write([{ clientId: 'c1', secretId: 's1', at: 1 }]), {
      message: 'refused',
      code: 'SQLITE_CONSTRAINT_TRIGGER',
    });
    assert.equal(writer.available, true);
    await writer.close();
  });

  it('reports itself unavailable when its thread fails, so the store writes itself', async () => {
    const path = database('no-table.db', 'CREATE TABLE other (x INTEGER);');
    const writer = new SecretUseWriter(path);
    await assert.rejects(writer.write([{ clientId: 'c1', secretId: 's1', at: 1 }]));
    assert.equal(writer.available, false);
    await writer.close();
  });
});
