import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { runSourceCli } from './support/cli.js';
import { newKek } from './support/instances.js';
import { postgresSkipReason } from './support/postgres.js';
import { createTestSchema, type TestSchema } from './support/postgres-schema.js';
import { basicAuthorization, postForm, startTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

const skip = await postgresSkipReason();

/** `tessera ARGS` from source in a child process. */
const tessera = runSourceCli;

describe('tessera migrate-store', { skip }, () => {
  let schema: TestSchema;
  let dataDir: string;
  const kek = newKek();
  before(async () => {
    schema = await createTestSchema('migrate');
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-migrate-store-'));
  });
  after(async () => {
    await schema?.drop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('moves a SQLite installation to PostgreSQL; every client keeps its secret', async () => {
    const sqlite = `sqlite:${join(dataDir, 'tessera.db')}`;
    const old = await startTessera({ dataDir, database: sqlite, env: { TESSERA_KEK: kek } });
    const clients = await Promise.all(
      ['read', 'write', 'read write'].map((scope) => old.createClient({ scope })),
    );
    const revokedToken = await getToken(old.url, clients[0]!);
    const revoked = await postForm(
      `${old.url}/oauth/revoke`,
      { token: revokedToken },
      { authorization: basicAuthorization(clients[0]!.clientId, clients[0]!.clientSecret) },
    );
    assert.equal(revoked.status, 200);
    const oldJwks = await (await fetch(`${old.url}/.well-known/jwks.json`)).json();
    const operator = { email: 'alice@example.com', role: 'operator', createdAt: 5 };
    await old.server.context.store.putOperator(operator);
    await old.close();
    // Read after close: closing flushed the secrets' last use.
    const closed = new SqliteStore(join(dataDir, 'tessera.db'));
    const oldClients = await closed.listClients();
    const oldAudit = await closed.listAudit(100);
    await closed.close();

    const result = await tessera(['migrate-store', '--from', sqlite, '--to', schema.url], {
      TESSERA_KEK: kek,
    });
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      /^Copied 3 clients \(3 secrets\), 1 keys, \d+ settings, 1 revocations and \d+ audit entries\.\n/,
    );
    assert.match(result.stdout, /TESSERA_KEK/);

    const moved = await startTessera({ database: schema.url, env: { TESSERA_KEK: kek } });
    try {
      for (const client of clients) await getToken(moved.url, client);
      assert.deepEqual(await (await fetch(`${moved.url}/.well-known/jwks.json`)).json(), oldJwks);
      const store = moved.server.context.store;
      assert.deepEqual(await store.listClients(), oldClients);
      const jti = decodeJwt(revokedToken).jti;
      assert.deepEqual(
        (await store.listRevocations(0)).map((r) => r.jti),
        [jti],
      );
      assert.ok(moved.server.context.revocations.has(jti!));
      assert.deepEqual(await store.listOperators(), [operator]);
      const audit = await store.listAudit(100);
      assert.equal(audit[0]!.action, 'store.migrate');
      assert.deepEqual(
        audit.slice(1).map(({ id: _id, ...entry }) => entry),
        oldAudit.map(({ id: _id, ...entry }) => entry),
      );
    } finally {
      await moved.close();
    }

    // A second run would mix two installations: refused.
    const again = await tessera(['migrate-store', '--from', sqlite, '--to', schema.url], {
      TESSERA_KEK: kek,
    });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already holds Tessera data/);
    const check = new PostgresStore(schema.url);
    try {
      assert.equal((await check.listClients()).length, 3);
    } finally {
      await check.close();
    }
  });

  it('refuses a malformed command line', async () => {
    const result = await tessera(['migrate-store', '--from', 'sqlite:x.db'], {});
    assert.equal(result.status, 2);
    assert.match(result.stderr, /migrate-store needs --from URL and --to URL/);
  });
});
