import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type {
  ClientRecord,
  KeyRecord,
  NewClient,
  SecretRecord,
  Store,
} from '../src/store/contract.js';
import { StoreUnavailableError } from '../src/store/errors.js';
import { migrations, migrationSql } from '../src/store/migrations.js';
import { PostgresDriver } from '../src/store/postgres/postgres-driver.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import type { SqlDriver } from '../src/store/sql-driver.js';
import { SqliteDriver } from '../src/store/sqlite/sqlite-driver.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { postgresSkipReason } from './support/postgres.js';
import { createTestSchema } from './support/postgres-schema.js';

/** One database per adapter; `open()` gives another handle on it, as a second process would. */
interface AdapterDatabase {
  open(): Promise<Store>;
  /** The bare driver on the same database, for SQL that the contract does not offer. */
  driver(): SqlDriver;
  dispose(): Promise<void>;
}

interface Adapter {
  name: 'sqlite' | 'postgres';
  skip: string | undefined;
  create(): Promise<AdapterDatabase>;
}

const adapters: Adapter[] = [
  {
    name: 'sqlite',
    skip: undefined,
    async create() {
      const dir = await mkdtemp(join(tmpdir(), 'tessera-contract-'));
      const path = join(dir, 'tessera.db');
      return {
        async open() {
          const store = new SqliteStore(path);
          await store.migrate();
          return store;
        },
        driver: () => new SqliteDriver(path),
        dispose: () => rm(dir, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 'postgres',
    skip: await postgresSkipReason(),
    async create() {
      const schema = await createTestSchema('contract');
      return {
        async open() {
          const store = new PostgresStore(schema.url);
          await store.migrate();
          return store;
        },
        driver: () => new PostgresDriver(schema.url),
        dispose: () => schema.drop(),
      };
    },
  },
];
// Like kysely's dialect list: TESSERA_TEST_ADAPTERS=sqlite runs one adapter only.
const only = process.env.TESSERA_TEST_ADAPTERS?.split(',');

let counter = 0;
const unique = (prefix: string) => `${prefix}-${process.pid}-${(counter += 1)}`;

function secret(id: string, createdAt = 1_000, expiresAt: number | null = null): SecretRecord {
  return { id, hash: `hmac-sha256$v1$${id}`, createdAt, expiresAt, lastUsedAt: null };
}

function newClient(clientId: string, overrides: Partial<NewClient> = {}): NewClient {
  return {
    clientId,
    name: `client ${clientId}`,
    status: 'active',
    scopes: ['read', 'write'],
    audiences: ['https://api.example', 'https://other.example'],
    tokenTtl: 600,
    authMethod: 'client_secret_basic',
    authConfig: {},
    grantTypes: ['client_credentials'],
    claims: {},
    secrets: [secret(`${clientId}-s1`)],
    ...overrides,
  };
}

function key(
  kid: string,
  state: KeyRecord['state'],
  overrides: Partial<KeyRecord> = {},
): KeyRecord {
  return {
    kid,
    alg: 'RS256',
    state,
    publicJwk: {
      kty: 'RSA',
      n: `n-${kid}`,
      e: 'AQAB',
      kid,
      alg: 'RS256',
      use: 'sig',
    } as JsonWebKey,
    encryptedPrivateKey: `v1.kek.iv.${kid}.tag`,
    createdAt: 1_700_000_000,
    activatesAt: null,
    retiresAt: null,
    ...overrides,
  };
}

/** Polls `check` until it holds or `ms` passes. */
async function eventually(check: () => boolean, ms = 1_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}

for (const adapter of adapters) {
  const skip =
    adapter.skip ??
    (only && !only.includes(adapter.name) ? 'not in TESSERA_TEST_ADAPTERS' : undefined);
  describe(`store contract: ${adapter.name}`, { skip }, () => {
    let database: AdapterDatabase;
    let store: Store;
    /** A second handle on the same database: another process, as far as the store knows. */
    let other: Store;
    before(async () => {
      database = await adapter.create();
      store = await database.open();
      other = await database.open();
    });
    after(async () => {
      await store?.close();
      await other?.close();
      await database?.dispose();
    });

    it('reports its kind, answers ping and migrates idempotently, also concurrently', async () => {
      assert.equal(store.kind, adapter.name);
      await store.ping();
      await Promise.all([store.migrate(), other.migrate(), store.migrate()]);
    });

    it('keeps the migration versions that databases of earlier releases recorded', async () => {
      const expected = [
        { version: 1, name: 'initial schema' },
        { version: 2, name: 'client auth_config (private_key_jwt, mTLS, DPoP settings)' },
        { version: 3, name: 'signing key location (sealed or a PKCS#11 token object)' },
        { version: 4, name: 'shared state: one-time keys and window counters' },
        { version: 5, name: 'client claims (extra token claims)' },
        { version: 6, name: 'console sessions, operators, and who did it in the audit log' },
        { version: 7, name: 'events outbox and leases' },
        { version: 8, name: 'client list indexes: creation order, name and client_id prefixes' },
        { version: 9, name: 'client token quota and token reuse' },
        { version: 10, name: 'client security profile (fapi2)' },
        { version: 11, name: 'tenants' },
        { version: 12, name: 'tenant operators' },
      ];
      assert.deepEqual(
        migrations.map(({ version, name }) => ({ version, name })),
        expected,
      );
      const driver = database.driver();
      try {
        assert.deepEqual(
          await driver.all('SELECT version, name FROM schema_migrations ORDER BY version'),
          expected,
        );
      } finally {
        await driver.close();
      }
    });

    it('migrates a database that an earlier release left at version 1', async () => {
      const earlier = await adapter.create();
      const driver = earlier.driver();
      let reopened: Store | undefined;
      try {
        // Version 1 as it was applied then ('migrations' also creates the test's schema).
        await driver.transaction(async (tx) => {
          await tx.exec(
            'CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
          );
          await tx.exec(migrationSql(migrations[0]!, driver.dialect)!);
          await tx.run(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (1, 'initial schema', 1)",
          );
          await tx.run(
            `INSERT INTO clients (client_id, name, status, scopes, audiences, token_ttl, auth_method, grant_types, created_at, updated_at)
             VALUES ('old', 'old client', 'active', '["read"]', '[]', NULL, 'client_secret_basic', '["client_credentials"]', 5, 6)`,
          );
        }, 'migrations');
        reopened = await earlier.open();
        assert.deepEqual(
          (await driver.all<{ version: number }>('SELECT version FROM schema_migrations')).map(
            (row) => row.version,
          ),
          migrations.map((migration) => migration.version),
        );
        assert.deepEqual(await reopened.getClient('old'), {
          clientId: 'old',
          name: 'old client',
          status: 'active',
          scopes: ['read'],
          audiences: [],
          tokenTtl: null,
          authMethod: 'client_secret_basic',
          authConfig: {},
          grantTypes: ['client_credentials'],
          claims: {},
          tokenQuota: null,
          reuseTokens: false,
          secrets: [],
          createdAt: 5,
          updatedAt: 6,
        });
      } finally {
        await reopened?.close();
        await driver.close();
        await earlier.dispose();
      }
    });

    it('keeps a client security profile, and releases it (issue 25)', async () => {
      const created = await store.createClient(newClient('fapi', { profile: 'fapi2' }));
      assert.equal(created.profile, 'fapi2');
      assert.equal((await store.getClient('fapi'))!.profile, 'fapi2');
      const released = await store.updateClient('fapi', { profile: null });
      assert.equal(released!.profile, undefined);
      assert.equal('profile' in (await store.getClient('fapi'))!, false);
      await store.deleteClient('fapi');
    });

    it('keeps a client token quota and reuse flag (issue 22), both ways', async () => {
      const id = unique('quota');
      const created = await store.createClient({
        ...newClient(id),
        tokenQuota: '10/s,5000/d',
        reuseTokens: true,
      });
      assert.equal(created.tokenQuota, '10/s,5000/d');
      assert.equal(created.reuseTokens, true);
      const changed = await store.updateClient(id, { tokenQuota: null, reuseTokens: false });
      assert.equal(changed?.tokenQuota, null);
      assert.equal(changed?.reuseTokens, false);
      const read = await other.getClient(id);
      assert.equal(read?.tokenQuota, null);
      assert.equal(read?.reuseTokens, false);
      await store.updateClient(id, { tokenQuota: '50/min' });
      assert.equal((await other.getClient(id))?.tokenQuota, '50/min');
    });

    it('creates, reads, lists, updates and deletes clients with their secrets', async () => {
      const id = unique('client');
      const created = await store.createClient(
        newClient(id, { secrets: [secret(`${id}-a`, 10), secret(`${id}-b`, 20, 5_000)] }),
      );
      assert.equal(created.clientId, id);
      assert.ok(created.createdAt > 1_600_000_000);
      assert.equal(created.updatedAt, created.createdAt);
      const expected: ClientRecord = {
        ...newClient(id),
        claims: {},
        tokenQuota: null,
        reuseTokens: false,
        secrets: [secret(`${id}-a`, 10), secret(`${id}-b`, 20, 5_000)],
        createdAt: created.createdAt,
        updatedAt: created.updatedAt,
      };
      assert.deepEqual(created, expected);
      assert.deepEqual(await other.getClient(id), expected);
      assert.equal(await store.getClient(unique('missing')), undefined);
      assert.ok((await other.listClients()).some((client) => client.clientId === id));

      const updated = await store.updateClient(id, {
        name: 'renamed',
        status: 'disabled',
        scopes: ['admin'],
        audiences: [],
        tokenTtl: null,
        authMethod: 'any',
        authConfig: { dpopBound: true },
        grantTypes: ['client_credentials', 'urn:example'],
      });
      assert.deepEqual(
        { ...updated, updatedAt: 0 },
        {
          ...expected,
          name: 'renamed',
          status: 'disabled',
          scopes: ['admin'],
          audiences: [],
          tokenTtl: null,
          authMethod: 'any',
          authConfig: { dpopBound: true },
          grantTypes: ['client_credentials', 'urn:example'],
          updatedAt: 0,
        },
      );
      assert.deepEqual(await other.getClient(id), updated);
      assert.equal(await store.updateClient(unique('missing'), { name: 'x' }), undefined);

      assert.equal(await store.deleteClient(id), true);
      assert.equal(await store.deleteClient(id), false);
      assert.equal(await other.getClient(id), undefined);
    });

    it('stores a client’s claims as JSON and replaces them on update (issue 19)', async () => {
      const id = unique('claims');
      const claims = { merchant: 'm-1', limits: { daily: 10_000, currencies: ['EUR'] }, vip: true };
      const created = await store.createClient(newClient(id, { claims }));
      assert.deepEqual(created.claims, claims);
      assert.deepEqual((await other.getClient(id))?.claims, claims);
      const updated = await store.updateClient(id, { claims: { tier: 'b' } });
      assert.deepEqual(updated?.claims, { tier: 'b' });
      assert.deepEqual((await other.getClient(id))?.claims, { tier: 'b' });
      // A client created without claims has none.
      const { claims: _none, ...without } = newClient(unique('no-claims'));
      assert.deepEqual((await store.createClient(without)).claims, {});
    });

    it('keeps given creation timestamps (store copies) and lists clients oldest first', async () => {
      const older = unique('older');
      const newer = unique('newer');
      await store.createClient(newClient(newer, { createdAt: 2_000, updatedAt: 2_500 }));
      await store.createClient(newClient(older, { createdAt: 1_000, updatedAt: 1_500 }));
      const got = await other.getClient(older);
      assert.equal(got?.createdAt, 1_000);
      assert.equal(got?.updatedAt, 1_500);
      const ids = (await store.listClients()).map((client) => client.clientId);
      assert.ok(ids.indexOf(older) < ids.indexOf(newer));
      assert.equal(ids.indexOf(older), 0);
    });

    it('imports clients in bulk with one change row, and pages through them by keyset and prefix', async () => {
      const prefix = unique('bulk');
      const before = await store.latestChange();
      const count = 2_345;
      const imported = await store.importClients(
        Array.from({ length: count }, (_, i) =>
          newClient(`${prefix}-${String(i).padStart(5, '0')}`, {
            name: `${prefix.toUpperCase()} Name ${i}`,
            // Several clients per second, as a real registry has: the keyset's tie-break.
            createdAt: 1_000_000 + Math.floor(i / 7),
            updatedAt: 1_000_000,
            tokenTtl: i === 5 ? 7_200 : null,
            secrets: i % 2 === 0 ? [secret(`${prefix}-${i}-s`)] : [],
          }),
        ),
      );
      assert.equal(imported, count);
      const { changes } = await other.changesSince(before);
      assert.deepEqual(
        changes.map(({ kind, ref }) => ({ kind, ref })),
        [{ kind: 'client', ref: '*' }],
      );
      const seen: string[] = [];
      let after: { createdAt: number; clientId: string } | undefined;
      for (let pages = 0; pages < 10; pages += 1) {
        const page = await other.listClientPage({ limit: 1_000, after, q: prefix });
        seen.push(...page.clients.map((client) => client.clientId));
        const last = page.clients.at(-1);
        if (!page.more || !last) break;
        after = { createdAt: last.createdAt, clientId: last.clientId };
      }
      assert.equal(seen.length, count);
      assert.deepEqual(
        seen,
        Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`),
      );
      const first = await store.listClientPage({ limit: 3, q: `${prefix}-0000` });
      assert.deepEqual(
        first.clients.map((client) => [client.clientId, client.secrets.length]),
        [
          [`${prefix}-00000`, 1],
          [`${prefix}-00001`, 0],
          [`${prefix}-00002`, 1],
        ],
      );
      assert.equal(first.more, true);
      assert.equal(first.clients[0]!.secrets[0]!.hash, secret(`${prefix}-0-s`).hash);
      // The name, case-insensitively, by prefix; "Name 12" is 12 and 120…129 and 1200…1299.
      const byName = await store.listClientPage({ limit: 500, q: `${prefix} name 12` });
      assert.equal(byName.clients.length, 1 + 10 + 100);
      assert.equal(byName.more, false);
      assert.deepEqual((await store.listClientPage({ limit: 5, q: `${prefix}-zzz` })).clients, []);
      const lifetimes = await store.tokenLifetimes();
      assert.ok((lifetimes.longest ?? 0) >= 7_200);
      assert.equal(lifetimes.someDefault, true);
    });

    it('refuses a duplicate client_id', async () => {
      const id = unique('dup');
      await store.createClient(newClient(id));
      await assert.rejects(other.createClient(newClient(id, { secrets: [] })));
      assert.equal((await store.getClient(id))?.secrets.length, 1);
    });

    it('changeSecrets adds, expires and removes in one transaction', async () => {
      const id = unique('rotate');
      await store.createClient(newClient(id, { secrets: [secret('old-1'), secret('old-2')] }));
      await other.changeSecrets(id, {
        add: [secret('new-1', 3_000)],
        expire: [{ id: 'old-1', expiresAt: 4_000 }],
        remove: ['old-2'],
      });
      assert.deepEqual((await store.getClient(id))?.secrets, [
        secret('old-1', 1_000, 4_000),
        secret('new-1', 3_000),
      ]);
      await store.changeSecrets(id, { expire: [{ id: 'old-1', expiresAt: null }] });
      assert.equal((await other.getClient(id))?.secrets[0]?.expiresAt, null);
      // A failing part rolls the whole change back.
      await assert.rejects(store.changeSecrets(id, { remove: ['new-1'], add: [secret('old-1')] }));
      assert.deepEqual(
        (await store.getClient(id))?.secrets.map((s) => s.id),
        ['old-1', 'new-1'],
      );
    });

    it('recordSecretUse keeps the latest use and records no change', async () => {
      const id = unique('used');
      await store.createClient(newClient(id, { secrets: [secret('u1'), secret('u2')] }));
      const before = await store.latestChange();
      await other.recordSecretUse([
        { clientId: id, secretId: 'u1', at: 5_000 },
        { clientId: id, secretId: 'u1', at: 4_000 },
        { clientId: id, secretId: 'u2', at: 7_000 },
        { clientId: id, secretId: 'nope', at: 7_000 },
      ]);
      await store.recordSecretUse([{ clientId: id, secretId: 'u2', at: 6_000 }]);
      await store.recordSecretUse([]);
      const secrets = (await store.getClient(id))!.secrets;
      assert.deepEqual(
        secrets.map((s) => [s.id, s.lastUsedAt]),
        [
          ['u1', 5_000],
          ['u2', 7_000],
        ],
      );
      assert.equal(await store.latestChange(), before);
    });

    it('inserts, lists and updates keys', async () => {
      const kid = unique('key');
      const record = key(kid, 'published', { alg: 'ES256', activatesAt: 1_700_000_100 });
      await store.insertKey(record);
      assert.deepEqual(
        (await other.listKeys()).find((k) => k.kid === kid),
        record,
      );
      await other.updateKey(kid, { state: 'retiring', retiresAt: 1_800_000_000 });
      assert.deepEqual(
        (await store.listKeys()).find((k) => k.kid === kid),
        { ...record, state: 'retiring', retiresAt: 1_800_000_000 },
      );
      await store.updateKey(kid, { activatesAt: null });
      assert.equal((await store.listKeys()).find((k) => k.kid === kid)?.activatesAt, null);
      await store.updateKey(unique('missing'), { state: 'retired' });
      await store.updateKey(kid, { state: 'retired' });
    });

    it('insertKeyIfNoneActive: two concurrent callers, exactly one inserted', async () => {
      for (let round = 0; round < 3; round += 1) {
        const alg = (['RS256', 'ES256', 'EdDSA'] as const)[round]!;
        const results = await Promise.all([
          store.insertKeyIfNoneActive(key(unique('race-a'), 'active', { alg })),
          other.insertKeyIfNoneActive(key(unique('race-b'), 'active', { alg })),
        ]);
        assert.equal(results.filter(Boolean).length, 1, `round ${round}: ${results}`);
        const active = (await store.listKeys()).filter(
          (k) => k.alg === alg && k.state === 'active',
        );
        assert.equal(active.length, 1);
        assert.equal(
          await store.insertKeyIfNoneActive(key(unique('late'), 'active', { alg })),
          false,
        );
      }
    });

    it('transitionKeys applies a plan atomically, and concurrent planners never both act', async () => {
      const alg = 'ES384' as KeyRecord['alg'];
      const current = key(unique('cur'), 'active', { alg });
      const next = key(unique('next'), 'published', { alg, activatesAt: 10 });
      await store.insertKey(current);
      await store.insertKey(next);
      const seen: string[] = [];
      const changed = await other.transitionKeys((keys) => {
        seen.push(...keys.map((k) => k.kid));
        return {
          patches: [
            { kid: next.kid, state: 'active' },
            { kid: current.kid, state: 'retiring', retiresAt: 99 },
            { kid: unique('ghost'), state: 'retired' },
          ],
        };
      });
      assert.equal(changed, true);
      assert.ok(seen.includes(current.kid) && seen.includes(next.kid));
      const after = (await store.listKeys()).filter((k) => k.alg === alg);
      assert.deepEqual(
        after.map((k) => [k.kid, k.state, k.activatesAt, k.retiresAt]),
        [
          [current.kid, 'retiring', null, 99],
          [next.kid, 'active', 10, null],
        ],
      );
      assert.equal(await store.transitionKeys(() => ({ patches: [] })), false);

      // Rotation by two processes at once: each inserts a published key only if none is.
      const plan = (kid: string) => (keys: readonly KeyRecord[]) =>
        keys.some((k) => k.alg === alg && k.state === 'published')
          ? { patches: [] }
          : { patches: [], insert: [key(kid, 'published', { alg, activatesAt: 20 })] };
      const results = await Promise.all([
        store.transitionKeys(plan(unique('rot-a'))),
        other.transitionKeys(plan(unique('rot-b'))),
        store.transitionKeys(plan(unique('rot-c'))),
      ]);
      assert.equal(results.filter(Boolean).length, 1);
      assert.equal(
        (await other.listKeys()).filter((k) => k.alg === alg && k.state === 'published').length,
        1,
      );
      // A plan that throws changes nothing.
      await assert.rejects(
        store.transitionKeys(() => {
          throw new Error('plan failed');
        }),
        /plan failed/,
      );
    });

    it('settings: ensureSetting keeps the first value, even when raced', async () => {
      const name = unique('setting');
      const values = await Promise.all([
        store.ensureSetting(name, 'from-store'),
        other.ensureSetting(name, 'from-other'),
      ]);
      assert.equal(values[0], values[1]);
      assert.equal(await store.ensureSetting(name, 'later'), values[0]);
      assert.equal(await other.getSetting(name), values[0]);
      assert.equal(await other.getSetting(unique('absent')), undefined);
      await other.setSetting(name, 'overwritten');
      assert.equal(await store.getSetting(name), 'overwritten');
      const fresh = unique('fresh');
      await store.setSetting(fresh, 'v');
      const listed = await other.listSettings();
      assert.deepEqual(
        listed.filter((s) => s.name === name || s.name === fresh),
        [
          { name: fresh, value: 'v' },
          { name, value: 'overwritten' },
        ].sort((a, b) => (a.name < b.name ? -1 : 1)),
      );
    });

    it('revocations carry increasing change seqs, are idempotent, listed after a seq and pruned', async () => {
      const jti = (n: number) => `${unique('jti')}-${n}`;
      const first = { jti: jti(1), clientId: 'c1', expiresAt: 2_000_000_000, revokedAt: 100 };
      const second = { jti: jti(2), clientId: 'c2', expiresAt: 50, revokedAt: 101 };
      const seq1 = await store.addRevocation(first);
      const seq2 = await other.addRevocation(second);
      assert.ok(seq1 > 0 && seq2 > seq1);
      assert.equal(await other.addRevocation(first), seq1);
      const all = await other.listRevocations();
      assert.deepEqual(
        all.filter((r) => r.jti === first.jti || r.jti === second.jti),
        [
          { ...first, seq: seq1 },
          { ...second, seq: seq2 },
        ],
      );
      assert.deepEqual(
        (await store.listRevocations(seq1)).map((r) => r.jti),
        [second.jti],
      );
      assert.deepEqual(await store.listRevocations(seq2), []);

      const now = 1_000;
      assert.equal(await other.prune(now, 0), 1);
      assert.deepEqual(
        (await store.listRevocations(0)).filter((r) => r.jti === second.jti),
        [],
      );
      // Pruning old change rows keeps those that name a live revocation.
      assert.equal(await store.prune(now, Math.floor(Date.now() / 1000) + 60), 0);
      assert.deepEqual(
        (await store.listRevocations(0)).filter((r) => r.jti === first.jti),
        [{ ...first, seq: seq1 }],
      );
      assert.equal(await store.addRevocation(first), seq1);
    });

    it('audit entries are listed newest first with their details', async () => {
      const actor = unique('actor');
      await store.appendAudit({ at: 10, actor, action: 'client.create', target: 'a', details: {} });
      await other.appendAudit({
        at: 11,
        actor,
        action: 'client.update',
        target: null,
        details: { fields: ['name'], nested: { n: 1 } },
      });
      const entries = (await store.listAudit(2)).filter((e) => e.actor === actor);
      assert.equal(entries.length, 2);
      assert.ok(entries[0]!.id! > entries[1]!.id!);
      assert.deepEqual(
        entries.map(({ id: _id, ...entry }) => entry),
        [
          {
            at: 11,
            actor,
            action: 'client.update',
            target: null,
            details: { fields: ['name'], nested: { n: 1 } },
          },
          { at: 10, actor, action: 'client.create', target: 'a', details: {} },
        ],
      );
      assert.equal((await store.listAudit(1)).length, 1);
    });

    it('client writes commit their audit entries with them, and only when they change something', async () => {
      const actor = unique('actor');
      const id = unique('audited');
      const entry = (action: string) => ({ at: 20, actor, action, target: id, details: {} });
      const mine = async () =>
        (await store.listAudit(1000)).filter((e) => e.actor === actor).map((e) => e.action);
      await store.createClient(newClient(id), [entry('client.create')]);
      await store.updateClient(id, { name: 'renamed' }, [entry('client.update')]);
      await store.changeSecrets(id, { add: [secret(unique('s'))] }, [
        entry('client.rotate_secret'),
      ]);
      // Nothing to change: no audit entry.
      assert.equal(
        await store.updateClient(unique('missing'), { name: 'x' }, [entry('nope')]),
        undefined,
      );
      assert.equal(await store.deleteClient(unique('missing'), [entry('nope')]), false);
      // A write that fails (client_id taken) leaves no audit entry behind either.
      await assert.rejects(store.createClient(newClient(id), [entry('duplicate')]));
      await store.deleteClient(id, [entry('client.delete')]);
      assert.deepEqual(await mine(), [
        'client.delete',
        'client.rotate_secret',
        'client.update',
        'client.create',
      ]);
    });

    it('client and key writes commit the events they cause with them, in order', async () => {
      const start = await other.latestEventSeq();
      const actor = unique('actor');
      const id = unique('evented');
      const entry = (action: string, details: Record<string, unknown> = {}) => ({
        at: 1_700_000_000,
        actor,
        action,
        target: id,
        details,
      });
      await store.createClient(newClient(id), [
        entry('client.create', { name: 'n', scope: 'read', auth_method: 'client_secret_basic' }),
      ]);
      // A write that fails, or changes nothing, leaves no event behind.
      await assert.rejects(store.createClient(newClient(id), [entry('client.create')]));
      await store.updateClient(unique('missing'), { name: 'x' }, [entry('client.update')]);
      await store.updateClient(id, { status: 'disabled', name: 'renamed' }, [
        entry('client.update', { name: 'renamed' }),
        entry('client.disable'),
      ]);
      await store.changeSecrets(id, { add: [secret(unique('s'))] }, [
        entry('client.rotate_secret', { grace_seconds: 60 }),
      ]);
      await store.deleteClient(id, [entry('client.delete')]);
      const kid = unique('evented-key');
      await store.insertKey(key(kid, 'published'));
      await store.transitionKeys(() => ({ patches: [{ kid, state: 'active' }] }));
      await store.updateKey(kid, { state: 'retired' });
      await store.appendEvents([
        { type: 'lockout.started', clientId: id, at: 1_700_000_001_000, data: { client_id: id } },
      ]);
      const events = await other.listEvents(start, 100);
      assert.deepEqual(
        events.map(({ type, clientId, data }) => ({ type, clientId, data })),
        [
          {
            type: 'client.created',
            clientId: id,
            data: { client_id: id, name: 'n', scope: 'read', auth_method: 'client_secret_basic' },
          },
          { type: 'client.updated', clientId: id, data: { client_id: id, changed: ['name'] } },
          { type: 'client.disabled', clientId: id, data: { client_id: id } },
          {
            type: 'client.secret_rotated',
            clientId: id,
            data: { client_id: id, grace_seconds: 60 },
          },
          { type: 'client.deleted', clientId: id, data: { client_id: id } },
          {
            type: 'key.published',
            clientId: null,
            data: { kid, alg: 'RS256', state: 'published', activates_at: null, retires_at: null },
          },
          {
            type: 'key.activated',
            clientId: null,
            data: { kid, alg: 'RS256', state: 'active', activates_at: null, retires_at: null },
          },
          {
            type: 'key.retired',
            clientId: null,
            data: { kid, alg: 'RS256', state: 'retired', activates_at: null, retires_at: null },
          },
          { type: 'lockout.started', clientId: id, data: { client_id: id } },
        ],
      );
      assert.equal(events[0]!.at, 1_700_000_000_000);
      assert.equal(events[0]!.tenant, 'default');
      assert.match(events[0]!.id, /^evt_\d{12}$/);
      const seqs = events.map((event) => event.seq);
      assert.deepEqual(
        [...seqs].sort((a, b) => a - b),
        seqs,
      );
      assert.equal(await other.latestEventSeq(), seqs.at(-1));
      assert.deepEqual(
        (await other.listEvents(seqs[6]!, 100)).map((event) => event.type),
        ['key.retired', 'lockout.started'],
      );
    });

    it('keeps each event’s delivery state: undelivered in order, failures, delivered, abandoned', async () => {
      const before = (await store.undeliveredEvents(1000)).length;
      const id = unique('delivery');
      const made = (type: 'lockout.started' | 'lockout.ended') => ({
        type,
        clientId: id,
        at: Date.now(),
        data: { client_id: id },
      });
      await store.appendEvents([
        made('lockout.started'),
        made('lockout.ended'),
        made('lockout.started'),
      ]);
      const mine = async () =>
        (await other.undeliveredEvents(1000)).filter((event) => event.clientId === id);
      const [first, second, third] = await mine();
      assert.equal((await store.undeliveredEvents(1000)).length, before + 3);
      assert.deepEqual([first!.attempts, first!.nextAttemptAt, first!.deliveredAt], [0, 0, null]);
      await store.recordEventFailure(first!.seq, {
        attempts: 1,
        nextAttemptAt: 5_000,
        error: 'HTTP 503',
        abandoned: false,
      });
      const [retried] = await mine();
      assert.deepEqual(
        [retried!.seq, retried!.attempts, retried!.nextAttemptAt],
        [first!.seq, 1, 5_000],
      );
      await store.markEventDelivered(first!.seq, 6_000);
      await store.recordEventFailure(second!.seq, {
        attempts: 9,
        nextAttemptAt: 9_000,
        error: 'timeout',
        abandoned: true,
      });
      assert.deepEqual(
        (await mine()).map((event) => event.seq),
        [third!.seq],
      );
      const [delivered] = await other.listEvents(first!.seq - 1, 1);
      assert.equal(delivered!.deliveredAt, 6_000);
      await store.markEventDelivered(third!.seq, 7_000);
      assert.deepEqual(await mine(), []);
    });

    it('a console session starting is operator.signed_in, committed with it; a sign-in in progress is not', async () => {
      const start = await other.latestEventSeq();
      const session = (kind: 'sign-in' | 'session') => ({
        id: unique('session'),
        kind,
        data: {
          person: { iss: 'https://idp.example', sub: 'alice', email: 'alice@example.com' },
          role: 'admin',
          csrf: 'never-in-an-event',
        },
        createdAt: 1_700_000_100,
        lastSeenAt: 1_700_000_100,
        expiresAt: 1_700_003_700,
      });
      await store.putConsoleSession(session('sign-in'));
      await store.putConsoleSession(session('session'));
      const events = await other.listEvents(start, 10);
      assert.deepEqual(
        events.map(({ type, clientId, data, at }) => ({ type, clientId, data, at })),
        [
          {
            type: 'operator.signed_in',
            clientId: null,
            at: 1_700_000_100_000,
            data: {
              iss: 'https://idp.example',
              sub: 'alice',
              email: 'alice@example.com',
              role: 'admin',
            },
          },
        ],
      );
    });

    it('holdLease: one holder at a time, renewed by it, taken over once it lapses', async () => {
      const name = unique('lease');
      const results = await Promise.all([
        store.holdLease(name, 'a', 100, 110),
        other.holdLease(name, 'b', 100, 110),
      ]);
      assert.deepEqual([...results].sort(), [false, true]);
      const [holder, stranger] = results[0] ? ['a', 'b'] : ['b', 'a'];
      assert.equal(await store.holdLease(name, holder!, 105, 115), true, 'renewed');
      assert.equal(await other.holdLease(name, stranger!, 114, 124), false, 'still held');
      assert.equal(await other.holdLease(name, stranger!, 115, 125), true, 'lapsed: taken over');
      assert.equal(await store.holdLease(name, holder!, 116, 126), false, 'lost');
    });

    it('audit entries keep the person, address and request id, and filter by actor', async () => {
      const email = `${unique('person')}@example.com`;
      const person = { iss: 'https://idp.example.com', sub: unique('sub'), email };
      await store.appendAudit({
        at: 30,
        actor: `person:${email}`,
        action: 'client.create',
        target: 'x',
        details: {},
        person,
        sourceAddress: '192.0.2.7',
        requestId: 'req-1',
      });
      const client = unique('machine');
      await store.appendAudit({
        at: 31,
        actor: `admin-api:${client}`,
        action: 'key.rotate',
        target: null,
        details: {},
      });
      const [byEmail] = await other.listAudit(10, { actor: email });
      const { id: _id, ...entry } = byEmail!;
      assert.deepEqual(entry, {
        at: 30,
        actor: `person:${email}`,
        action: 'client.create',
        target: 'x',
        details: {},
        person,
        sourceAddress: '192.0.2.7',
        requestId: 'req-1',
      });
      assert.equal((await other.listAudit(10, { actor: person.sub })).length, 1);
      assert.equal((await other.listAudit(10, { actor: `person:${email}` })).length, 1);
      assert.deepEqual(
        (await other.listAudit(10, { actor: client })).map((e) => e.action),
        ['key.rotate'],
      );
      assert.deepEqual(await other.listAudit(10, { actor: unique('nobody') }), []);
    });

    it('console sessions: stored, touched, deleted once, pruned after they end', async () => {
      const id = unique('session');
      const session = {
        id,
        kind: 'session' as const,
        data: { role: 'viewer', person: { iss: 'i', sub: 's' } },
        createdAt: 100,
        lastSeenAt: 100,
        expiresAt: 200,
      };
      await store.putConsoleSession(session);
      assert.deepEqual(await other.getConsoleSession(id), session);
      await other.touchConsoleSession(id, 150);
      assert.equal((await store.getConsoleSession(id))!.lastSeenAt, 150);
      assert.equal(await store.deleteConsoleSession(id), true);
      assert.equal(await other.deleteConsoleSession(id), false);
      assert.equal(await store.getConsoleSession(id), undefined);
      await store.putConsoleSession({ ...session, id: `${id}-old` });
      await store.prune(201, 0);
      assert.equal(await store.getConsoleSession(`${id}-old`), undefined);
    });

    it('operators: added, replaced, listed and removed', async () => {
      const email = `${unique('op')}@example.com`;
      await store.putOperator({ email, role: 'viewer', createdAt: 1 });
      await store.putOperator({ email, role: 'operator', createdAt: 2 });
      assert.deepEqual(await other.getOperator(email), { email, role: 'operator', createdAt: 2 });
      assert.ok((await other.listOperators()).some((operator) => operator.email === email));
      assert.equal(await other.removeOperator(email), true);
      assert.equal(await store.removeOperator(email), false);
      assert.equal(await store.getOperator(email), undefined);
    });

    it('tenant operators: per tenant, replaced, listed by tenant and by email, removed with their tenant', async () => {
      const email = `${unique('top')}@example.com`;
      const [first, second] = [unique('to-a'), unique('to-b')];
      for (const name of [first, second])
        await store.createTenant({
          name,
          issuer: null,
          preset: null,
          tokenTtl: null,
          signingAlg: null,
          defaultAudience: null,
          settings: {},
        });
      await store.putTenantOperator({ tenant: first, email, role: 'viewer', createdAt: 1 });
      await store.putTenantOperator({ tenant: first, email, role: 'admin', createdAt: 2 });
      await other.putTenantOperator({ tenant: second, email, role: 'operator', createdAt: 3 });
      assert.deepEqual(await other.tenantRolesOf(email), [
        { tenant: first, email, role: 'admin', createdAt: 2 },
        { tenant: second, email, role: 'operator', createdAt: 3 },
      ]);
      assert.deepEqual(await store.listTenantOperators(first), [
        { tenant: first, email, role: 'admin', createdAt: 2 },
      ]);
      const all = await other.listTenantOperators();
      assert.ok(all.some((row) => row.tenant === second && row.email === email));
      // The deployment-wide list is another list.
      assert.equal(await store.getOperator(email), undefined);
      // Scoped stores read the same rows (they are not scoped by forTenant).
      assert.equal((await store.forTenant(first).tenantRolesOf(email)).length, 2);
      assert.equal(await other.removeTenantOperator(first, email), true);
      assert.equal(await store.removeTenantOperator(first, email), false);
      assert.deepEqual(
        (await store.tenantRolesOf(email)).map((row) => row.tenant),
        [second],
      );
      // Deleting the tenant deletes its operators.
      assert.equal(await store.deleteTenant(second), true);
      assert.deepEqual(await other.tenantRolesOf(email), []);
      assert.deepEqual(await store.listTenantOperators(second), []);
      await store.deleteTenant(first);
    });

    it('change feed: latestChange and changesSince report every write in order', async () => {
      const start = await other.latestChange();
      assert.deepEqual(await other.changesSince(start), { changes: [], cursor: start });
      const id = unique('feed');
      const kid = unique('feed-key');
      await store.createClient(newClient(id));
      await store.changeSecrets(id, { add: [secret(`${id}-2`)] });
      await store.insertKey(key(kid, 'retired'));
      await store.setSetting(unique('feed-setting'), 'x');
      const jti = unique('feed-jti');
      const seq = await store.addRevocation({ jti, clientId: id, expiresAt: 2e9, revokedAt: 1 });
      await store.deleteClient(id);
      const { changes, cursor } = await other.changesSince(start);
      assert.deepEqual(
        changes.map((c) => [c.kind, c.kind === 'setting' ? '' : c.ref]),
        [
          ['client', id],
          ['client', id],
          ['key', kid],
          ['setting', ''],
          ['revocation', jti],
          ['client', id],
        ],
      );
      const seqs = changes.map((c) => c.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => a - b),
      );
      assert.equal(changes[4]!.seq, seq);
      assert.equal(cursor, seqs.at(-1));
      assert.equal(await store.latestChange(), cursor);
      assert.deepEqual(await other.changesSince(cursor), { changes: [], cursor });
      assert.deepEqual((await other.changesSince(seqs[3]!)).changes.length, 2);
    });

    it('concurrent writers never let a feed cursor skip a change', async () => {
      const start = await store.latestChange();
      let cursor = start;
      const seen: number[] = [];
      let writing = true;
      const reader = (async () => {
        while (writing) {
          const next = await other.changesSince(cursor);
          seen.push(...next.changes.map((c) => c.seq));
          cursor = next.cursor;
        }
      })();
      const id = unique('burst');
      await store.createClient(newClient(id, { secrets: [] }));
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          (i % 2 ? store : other).updateClient(id, { name: `n${i}` }),
        ),
      );
      writing = false;
      await reader;
      const final = await other.changesSince(cursor);
      seen.push(...final.changes.map((c) => c.seq));
      const all = (await store.changesSince(start)).changes.map((c) => c.seq);
      assert.deepEqual(seen, all);
    });

    it('watch tells another handle about committed writes within a second', async () => {
      let calls = 0;
      const unwatch = other.watch(() => (calls += 1));
      try {
        // Let the watcher settle (a LISTEN connection reports once when it is established).
        await eventually(() => calls > 0, 300);
        const before = calls;
        await store.setSetting(unique('watched'), 'v');
        assert.ok(await eventually(() => calls > before), 'no change notification within 1 s');
        if (adapter.name === 'postgres') assert.equal(other.hasForeignChanges(), false);
      } finally {
        unwatch();
      }
    });

    it('hasForeignChanges is cheap and sync: true once after a foreign write (pull adapters)', async () => {
      other.hasForeignChanges();
      await store.setSetting(unique('foreign'), 'v');
      const first = other.hasForeignChanges();
      assert.equal(first, adapter.name === 'sqlite');
      assert.equal(other.hasForeignChanges(), false);
    });

    // Issue 21: tenants.
    it('creates, lists, updates and deletes tenants, each write a `tenant` change row', async () => {
      const name = unique('t').replace(/[^a-z0-9-]/g, '');
      const before = await store.latestChange();
      const audit = {
        at: 1,
        actor: 'cli:test',
        action: 'tenant.create',
        target: name,
        details: {},
      };
      const created = await store.createTenant(
        {
          name,
          issuer: 'https://sandbox.example',
          preset: null,
          tokenTtl: 300,
          signingAlg: 'ES256',
          defaultAudience: null,
          settings: { authFailureLimits: { perClient: 3 }, tokenHook: 'none' },
        },
        [audit],
      );
      assert.equal(created.name, name);
      assert.equal(created.issuer, 'https://sandbox.example');
      assert.equal(created.tokenTtl, 300);
      assert.equal(created.signingAlg, 'ES256');
      assert.deepEqual(created.settings, {
        authFailureLimits: { perClient: 3 },
        tokenHook: 'none',
      });
      assert.deepEqual(await other.getTenant(name), created);
      assert.ok((await store.listTenants()).some((tenant) => tenant.name === name));
      await assert.rejects(store.createTenant({ ...created }));
      const updated = await store.updateTenant(name, {
        tokenTtl: null,
        defaultAudience: 'https://api',
      });
      assert.equal(updated?.tokenTtl, null);
      assert.equal(updated?.defaultAudience, 'https://api');
      assert.equal(updated?.issuer, 'https://sandbox.example');
      assert.equal(await store.updateTenant(unique('none'), { tokenTtl: 1 }), undefined);
      const { changes } = await other.changesSince(before);
      assert.deepEqual(
        changes
          .filter((change) => change.kind === 'tenant')
          .map(({ kind, ref, tenant }) => ({ kind, ref, tenant })),
        [
          { kind: 'tenant', ref: name, tenant: name },
          { kind: 'tenant', ref: name, tenant: name },
        ],
      );
      // Create's audit entry is in the tenant's trail and the default tenant's.
      assert.equal((await store.forTenant(name).listAudit(10))[0]?.action, 'tenant.create');
      assert.ok((await store.listAudit(50)).some((entry) => entry.target === name));
      await store.forTenant(name).createClient(newClient(unique('doomed')));
      assert.equal(await store.deleteTenant(name), true);
      assert.equal(await store.getTenant(name), undefined);
      assert.deepEqual(await store.forTenant(name).listClients(), []);
      assert.equal(await store.deleteTenant(name), false);
    });

    it('keeps clients, secrets and client pages of one tenant out of every other', async () => {
      const sandbox = store.forTenant('sandbox-c');
      const production = other.forTenant('production-c');
      assert.equal(sandbox.tenant, 'sandbox-c');
      assert.equal(store.forTenant('sandbox-c'), sandbox, 'one scoped store per name');
      const id = unique('iso');
      await sandbox.createClient(newClient(id));
      assert.equal((await other.forTenant('sandbox-c').getClient(id))?.clientId, id);
      assert.equal(await production.getClient(id), undefined);
      assert.equal(await other.getClient(id), undefined, 'not in the default tenant either');
      assert.equal((await production.listClients()).length, 0);
      assert.deepEqual((await production.listClientPage({ limit: 10 })).clients, []);
      assert.ok(!(await store.listClients()).some((client) => client.clientId === id));
      assert.deepEqual(
        (await sandbox.listClientPage({ limit: 10, q: id })).clients.map((c) => c.clientId),
        [id],
      );
      assert.deepEqual(await production.tokenLifetimes(), { longest: null, someDefault: false });
      assert.equal((await sandbox.tokenLifetimes()).longest, 600);
      // Writes through another tenant find nothing and change nothing.
      assert.equal(await production.updateClient(id, { name: 'hijacked' }), undefined);
      assert.equal(await production.deleteClient(id), false);
      await production.changeSecrets(id, { add: [secret(`${id}-evil`)], remove: [`${id}-s1`] });
      const kept = await sandbox.getClient(id);
      assert.equal(kept?.name, `client ${id}`);
      assert.deepEqual(
        kept?.secrets.map((s) => s.id),
        [`${id}-s1`],
      );
      // client_id stays globally unique: the same id in another tenant is a duplicate.
      await assert.rejects(production.createClient(newClient(id)));
      assert.equal(await production.getClient(id), undefined);
      // Bulk imports land in their tenant.
      const imported = unique('imp');
      assert.equal(await production.importClients([newClient(imported)]), 1);
      assert.equal((await production.getClient(imported))?.clientId, imported);
      assert.equal(await sandbox.getClient(imported), undefined);
      // Change rows name the tenant.
      const cursor = await store.latestChange();
      await sandbox.updateClient(id, { name: 'renamed' });
      const { changes } = await other.changesSince(cursor);
      assert.deepEqual(
        changes.map(({ kind, ref, tenant }) => ({ kind, ref, tenant })),
        [{ kind: 'client', ref: id, tenant: 'sandbox-c' }],
      );
    });

    it('keeps keys, revocations and audit entries per tenant', async () => {
      const sandbox = store.forTenant('sandbox-k');
      const production = store.forTenant('production-k');
      const kid = unique('kid');
      assert.equal(await sandbox.insertKeyIfNoneActive(key(kid, 'active')), true);
      // Another tenant's active key does not count: production gets its own.
      const prodKid = unique('kid');
      assert.equal(await production.insertKeyIfNoneActive(key(prodKid, 'active')), true);
      assert.equal(await sandbox.insertKeyIfNoneActive(key(unique('kid'), 'active')), false);
      assert.deepEqual(
        (await sandbox.listKeys()).map((k) => k.kid),
        [kid],
      );
      assert.deepEqual(
        (await production.listKeys()).map((k) => k.kid),
        [prodKid],
      );
      assert.ok(!(await store.listKeys()).some((k) => k.kid === kid || k.kid === prodKid));
      // transitionKeys sees and changes only its tenant's keys.
      let seen: string[] = [];
      await production.transitionKeys((keys) => {
        seen = keys.map((k) => k.kid);
        return { patches: [{ kid, state: 'retired' }] };
      });
      assert.deepEqual(seen, [prodKid]);
      assert.equal((await sandbox.listKeys())[0]?.state, 'active');
      await production.updateKey(kid, { state: 'retiring' });
      assert.equal((await sandbox.listKeys())[0]?.state, 'active');

      const jti = unique('jti');
      await sandbox.addRevocation({ jti, clientId: 'c', expiresAt: 4_000_000_000, revokedAt: 1 });
      assert.deepEqual(
        (await sandbox.listRevocations(0)).map((r) => r.jti),
        [jti],
      );
      assert.deepEqual(await production.listRevocations(0), []);
      assert.ok(!(await store.listRevocations(0)).some((r) => r.jti === jti));

      await sandbox.appendAudit({
        at: 5,
        actor: 'cli:a',
        action: 'x.sandbox',
        target: null,
        details: {},
      });
      assert.deepEqual(
        (await sandbox.listAudit(10)).map((e) => e.action),
        ['x.sandbox'],
      );
      assert.deepEqual(await production.listAudit(10), []);
      assert.deepEqual(await production.listAudit(10, { actor: 'cli:a' }), []);
      assert.ok(!(await store.listAudit(100)).some((e) => e.action === 'x.sandbox'));
    });
  });
}

describe('PostgreSQL store failures', async () => {
  const skip = await postgresSkipReason();
  it('reports an unreachable database as StoreUnavailableError', { skip }, async () => {
    const store = new PostgresStore('postgres://postgres@127.0.0.1:1/test?schema=nowhere');
    try {
      await assert.rejects(store.ping(), StoreUnavailableError);
      await assert.rejects(store.setSetting('a', 'b'), StoreUnavailableError);
      await assert.rejects(store.migrate(), StoreUnavailableError);
    } finally {
      await store.close();
    }
  });

  it('rejects a schema name that is not a plain identifier', () => {
    assert.throws(
      () => new PostgresStore('postgres://127.0.0.1/test?schema=a;drop'),
      /plain identifier/,
    );
  });
});
