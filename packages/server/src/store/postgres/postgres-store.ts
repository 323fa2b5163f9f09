import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type {
  AuditEntry,
  Change,
  ChangeKind,
  ClientPatch,
  ClientRecord,
  KeyPatch,
  KeyRecord,
  NewClient,
  RevocationRecord,
  SecretChange,
  SequencedRevocation,
  Store,
} from '../contract.js';
import { isConnectionError, storeError } from '../errors.js';
import { ChangeListener, channelSql } from './change-listener.js';
import { postgresConnection } from './connection.js';
import { postgresMigrations } from './migrations.js';
import {
  insertKeySql,
  insertSecretSql,
  keyParams,
  secretParams,
  toAudit,
  toClient,
  toKey,
  toRevocation,
  type AuditRow,
  type ClientRow,
  type KeyRow,
  type RevocationRow,
  type SecretRow,
} from './rows.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Advisory lock classes (first half of the two-int key; the second is the schema's hash), so
 * deployments in different schemas of one database never wait on each other.
 */
const migrationLock = 7_355_001;
const keysLock = 7_355_002;
const changesLock = 7_355_003;

/**
 * Tries at acquiring a working connection and BEGIN: after a server restart the pool may still
 * hold a few dead connections, and nothing has been written when BEGIN fails.
 */
const beginAttempts = 3;

type Queryable = Pick<pg.PoolClient, 'query'>;

export interface PostgresStoreOptions {
  /** Most pooled connections per process (default 10). */
  poolSize?: number;
}

/**
 * The shared store for several instances: one PostgreSQL database (optionally one schema in it,
 * `?schema=NAME`). Every write runs in a transaction that also appends to `changes` and sends
 * a `NOTIFY`, delivered on commit; each process LISTENs on a dedicated connection and refreshes
 * its caches from the change feed. Change rows are appended under a transaction-scoped advisory
 * lock, so sequence numbers become visible in order and a feed cursor never skips one.
 * Connection failures surface as {@link StoreUnavailableError}.
 */
export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly #pool: pg.Pool;
  readonly #config: pg.ClientConfig;
  readonly #schema: string | undefined;
  /** Sent as the NOTIFY payload, so this store ignores its own notifications. */
  readonly #instanceId = randomUUID();
  readonly #watchers = new Set<() => void>();
  #listener: ChangeListener | undefined;

  constructor(url: string, options: PostgresStoreOptions = {}) {
    const { config, schema } = postgresConnection(url);
    this.#config = config;
    this.#schema = schema;
    this.#pool = new pg.Pool({
      ...config,
      max: options.poolSize ?? 10,
      idleTimeoutMillis: 10_000,
    });
    // An idle pooled connection that breaks (server restart, pg_terminate_backend) is dropped
    // by the pool; without this listener its 'error' event would end the process.
    this.#pool.on('error', () => {});
  }

  async migrate(): Promise<void> {
    await this.#transaction(async (db) => {
      const scope =
        this.#schema ??
        (await db.query<{ schema: string | null }>('SELECT current_schema() AS schema')).rows[0]!
          .schema ??
        'public';
      // Instances starting together: the first migrates, the others wait here and find the
      // schema up to date.
      await db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [migrationLock, scope]);
      if (this.#schema) {
        await db.query(`CREATE SCHEMA IF NOT EXISTS "${this.#schema}"`);
        await db.query(`SET LOCAL search_path TO "${this.#schema}"`);
      }
      await db.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
      );
      const applied = new Set(
        (await db.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
          (row) => row.version,
        ),
      );
      for (const migration of postgresMigrations) {
        if (applied.has(migration.version)) continue;
        await db.query(migration.sql);
        await db.query(
          'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
          [migration.version, migration.name, nowSeconds()],
        );
      }
    });
  }

  async close(): Promise<void> {
    this.#watchers.clear();
    const listener = this.#listener;
    this.#listener = undefined;
    await listener?.stop();
    if (!this.#pool.ended) await this.#pool.end();
  }

  async ping(): Promise<void> {
    await this.#read((db) => db.query('SELECT 1'));
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    return this.#read(async (db) => {
      const { rows } = await db.query<ClientRow>('SELECT * FROM clients WHERE client_id = $1', [
        clientId,
      ]);
      if (!rows[0]) return undefined;
      const secrets = await db.query<SecretRow>(
        'SELECT * FROM client_secrets WHERE client_id = $1 ORDER BY created_at, position',
        [clientId],
      );
      return toClient(rows[0], secrets.rows);
    });
  }

  async listClients(): Promise<ClientRecord[]> {
    return this.#read(async (db) => {
      const clients = await db.query<ClientRow>(
        'SELECT * FROM clients ORDER BY created_at, client_id',
      );
      const secrets = await db.query<SecretRow>(
        'SELECT * FROM client_secrets ORDER BY created_at, position',
      );
      const byClient = new Map<string, SecretRow[]>();
      for (const secret of secrets.rows) {
        const list = byClient.get(secret.client_id);
        if (list) list.push(secret);
        else byClient.set(secret.client_id, [secret]);
      }
      return clients.rows.map((row) => toClient(row, byClient.get(row.client_id) ?? []));
    });
  }

  async createClient(client: NewClient, audit?: readonly AuditEntry[]): Promise<ClientRecord> {
    const now = nowSeconds();
    await this.#write(
      'client',
      client.clientId,
      async (db) => {
        await db.query(
          `INSERT INTO clients (client_id, name, status, scopes, audiences, token_ttl, auth_method, auth_config, grant_types, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
          [
            client.clientId,
            client.name,
            client.status,
            JSON.stringify(client.scopes),
            JSON.stringify(client.audiences),
            client.tokenTtl,
            client.authMethod,
            JSON.stringify(client.authConfig ?? {}),
            JSON.stringify(client.grantTypes),
            client.createdAt ?? now,
            client.updatedAt ?? now,
          ],
        );
        for (const secret of client.secrets)
          await db.query(insertSecretSql, secretParams(client.clientId, secret));
      },
      audit,
    );
    return (await this.getClient(client.clientId))!;
  }

  async updateClient(
    clientId: string,
    patch: ClientPatch,
    audit?: readonly AuditEntry[],
  ): Promise<ClientRecord | undefined> {
    const columns: Array<[string, unknown]> = [];
    if (patch.name !== undefined) columns.push(['name', patch.name]);
    if (patch.status !== undefined) columns.push(['status', patch.status]);
    if (patch.scopes !== undefined) columns.push(['scopes', JSON.stringify(patch.scopes)]);
    if (patch.audiences !== undefined) columns.push(['audiences', JSON.stringify(patch.audiences)]);
    if (patch.tokenTtl !== undefined) columns.push(['token_ttl', patch.tokenTtl]);
    if (patch.authMethod !== undefined) columns.push(['auth_method', patch.authMethod]);
    if (patch.authConfig !== undefined)
      columns.push(['auth_config', JSON.stringify(patch.authConfig)]);
    if (patch.grantTypes !== undefined)
      columns.push(['grant_types', JSON.stringify(patch.grantTypes)]);
    columns.push(['updated_at', nowSeconds()]);
    const assignments = columns.map(([name], i) => `${name} = $${i + 2}`).join(', ');
    const changed = await this.#write(
      'client',
      clientId,
      async (db) => {
        const result = await db.query(`UPDATE clients SET ${assignments} WHERE client_id = $1`, [
          clientId,
          ...columns.map(([, value]) => value),
        ]);
        return (result.rowCount ?? 0) > 0;
      },
      audit,
    );
    return changed ? this.getClient(clientId) : undefined;
  }

  async deleteClient(clientId: string, audit?: readonly AuditEntry[]): Promise<boolean> {
    return this.#write(
      'client',
      clientId,
      async (db) => {
        const result = await db.query('DELETE FROM clients WHERE client_id = $1', [clientId]);
        return (result.rowCount ?? 0) > 0;
      },
      audit,
    );
  }

  async changeSecrets(
    clientId: string,
    change: SecretChange,
    audit?: readonly AuditEntry[],
  ): Promise<void> {
    await this.#write(
      'client',
      clientId,
      async (db) => {
        for (const secret of change.add ?? [])
          await db.query(insertSecretSql, secretParams(clientId, secret));
        for (const { id, expiresAt } of change.expire ?? [])
          await db.query(
            'UPDATE client_secrets SET expires_at = $1 WHERE client_id = $2 AND id = $3',
            [expiresAt, clientId, id],
          );
        for (const id of change.remove ?? [])
          await db.query('DELETE FROM client_secrets WHERE client_id = $1 AND id = $2', [
            clientId,
            id,
          ]);
      },
      audit,
    );
  }

  async recordSecretUse(
    uses: ReadonlyArray<{ clientId: string; secretId: string; at: number }>,
  ): Promise<void> {
    if (uses.length === 0) return;
    // One row per secret (the latest use), so the UPDATE … FROM matches each row once.
    const latest = new Map<string, { clientId: string; secretId: string; at: number }>();
    for (const use of uses) {
      const key = `${use.clientId}\u0000${use.secretId}`;
      if ((latest.get(key)?.at ?? -Infinity) < use.at) latest.set(key, use);
    }
    const rows = [...latest.values()];
    // Usage bookkeeping only: no change record, so it does not invalidate other caches.
    await this.#transaction((db) =>
      db.query(
        `UPDATE client_secrets s SET last_used_at = GREATEST(COALESCE(s.last_used_at, 0), u.at)
           FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u (client_id, id, at)
          WHERE s.client_id = u.client_id AND s.id = u.id`,
        [rows.map((r) => r.clientId), rows.map((r) => r.secretId), rows.map((r) => r.at)],
      ),
    );
  }

  async listKeys(): Promise<KeyRecord[]> {
    return this.#read(async (db) => (await this.#selectKeys(db)).map(toKey));
  }

  async insertKey(key: KeyRecord): Promise<void> {
    await this.#write('key', key.kid, (db) => db.query(insertKeySql, keyParams(key)));
  }

  async insertKeyIfNoneActive(key: KeyRecord): Promise<boolean> {
    return this.#keysTransaction(async (db) => {
      const active = await db.query(
        "SELECT kid FROM signing_keys WHERE alg = $1 AND state = 'active'",
        [key.alg],
      );
      if ((active.rowCount ?? 0) > 0) return false;
      await db.query(insertKeySql, keyParams(key));
      await this.#recordChange(db, 'key', key.kid);
      return true;
    });
  }

  async transitionKeys(
    plan: (keys: readonly KeyRecord[]) => { patches: KeyPatch[]; insert?: KeyRecord[] },
  ): Promise<boolean> {
    return this.#keysTransaction(async (db) => {
      const keys = (await this.#selectKeys(db)).map(toKey);
      const { patches, insert = [] } = plan(keys);
      if (patches.length === 0 && insert.length === 0) return false;
      for (const patch of patches) {
        const current = keys.find((key) => key.kid === patch.kid);
        if (!current) continue;
        await db.query(
          'UPDATE signing_keys SET state = $2, activates_at = $3, retires_at = $4 WHERE kid = $1',
          [
            patch.kid,
            patch.state ?? current.state,
            patch.activatesAt !== undefined ? patch.activatesAt : current.activatesAt,
            patch.retiresAt !== undefined ? patch.retiresAt : current.retiresAt,
          ],
        );
      }
      for (const key of insert) await db.query(insertKeySql, keyParams(key));
      await this.#recordChange(db, 'key', '*');
      return true;
    });
  }

  async updateKey(
    kid: string,
    patch: Partial<Pick<KeyRecord, 'state' | 'activatesAt' | 'retiresAt'>>,
  ): Promise<void> {
    await this.#keysTransaction(async (db) => {
      const { rows } = await db.query<KeyRow>('SELECT * FROM signing_keys WHERE kid = $1', [kid]);
      const current = rows[0];
      if (!current) return;
      await db.query(
        'UPDATE signing_keys SET state = $2, activates_at = $3, retires_at = $4 WHERE kid = $1',
        [
          kid,
          patch.state ?? current.state,
          patch.activatesAt !== undefined ? patch.activatesAt : current.activates_at,
          patch.retiresAt !== undefined ? patch.retiresAt : current.retires_at,
        ],
      );
      await this.#recordChange(db, 'key', kid);
    });
  }

  async rewrap(update: {
    keys: Array<{ kid: string; encryptedPrivateKey: string }>;
    settings: Array<{ name: string; value: string }>;
  }): Promise<void> {
    await this.#keysTransaction(async (db) => {
      for (const { kid, encryptedPrivateKey } of update.keys)
        await db.query('UPDATE signing_keys SET encrypted_private_key = $1 WHERE kid = $2', [
          encryptedPrivateKey,
          kid,
        ]);
      for (const { name, value } of update.settings)
        await db.query('UPDATE settings SET value = $1 WHERE name = $2', [value, name]);
      await this.#recordChange(db, 'key', '*');
    });
  }

  async ensureSetting(name: string, value: string): Promise<string> {
    return this.#write('setting', name, async (db) => {
      await db.query(
        'INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
        [name, value],
      );
      const { rows } = await db.query<{ value: string }>(
        'SELECT value FROM settings WHERE name = $1',
        [name],
      );
      return rows[0]!.value;
    });
  }

  async getSetting(name: string): Promise<string | undefined> {
    return this.#read(async (db) => {
      const { rows } = await db.query<{ value: string }>(
        'SELECT value FROM settings WHERE name = $1',
        [name],
      );
      return rows[0]?.value;
    });
  }

  async setSetting(name: string, value: string): Promise<void> {
    await this.#write('setting', name, (db) =>
      db.query(
        'INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
        [name, value],
      ),
    );
  }

  async listSettings(): Promise<Array<{ name: string; value: string }>> {
    return this.#read(
      async (db) =>
        (
          await db.query<{ name: string; value: string }>(
            'SELECT name, value FROM settings ORDER BY name',
          )
        ).rows,
    );
  }

  async addRevocation(revocation: RevocationRecord): Promise<number> {
    return this.#transaction(async (db) => {
      const inserted = await db.query(
        'INSERT INTO revocations (jti, client_id, expires_at, revoked_at) VALUES ($1, $2, $3, $4) ON CONFLICT (jti) DO NOTHING',
        [revocation.jti, revocation.clientId, revocation.expiresAt, revocation.revokedAt],
      );
      if ((inserted.rowCount ?? 0) === 0) {
        const { rows } = await db.query<{ seq: number | null }>(
          "SELECT MAX(seq) AS seq FROM changes WHERE kind = 'revocation' AND ref = $1",
          [revocation.jti],
        );
        return rows[0]?.seq ?? 0;
      }
      return this.#recordChange(db, 'revocation', revocation.jti);
    });
  }

  async listRevocations(afterSeq = 0): Promise<SequencedRevocation[]> {
    return this.#read(async (db) => {
      const { rows } = await db.query<RevocationRow>(
        `SELECT r.jti, r.client_id, r.expires_at, r.revoked_at, MAX(c.seq) AS seq
           FROM changes c JOIN revocations r ON r.jti = c.ref
          WHERE c.kind = 'revocation' AND c.seq > $1
          GROUP BY r.jti ORDER BY seq`,
        [afterSeq],
      );
      return rows.map(toRevocation);
    });
  }

  async prune(now: number, changesBefore: number): Promise<number> {
    return this.#transaction(async (db) => {
      const revocations = await db.query('DELETE FROM revocations WHERE expires_at < $1', [now]);
      // Keep change rows that still name a live revocation: feed cursors count in them.
      await db.query(
        `DELETE FROM changes WHERE at < $1
            AND NOT (kind = 'revocation' AND ref IN (SELECT jti FROM revocations))`,
        [changesBefore],
      );
      return revocations.rowCount ?? 0;
    });
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.#transaction((db) => insertAudit(db, entry));
  }

  async listAudit(limit: number): Promise<AuditEntry[]> {
    return this.#read(async (db) =>
      (
        await db.query<AuditRow>('SELECT * FROM audit_log ORDER BY id DESC LIMIT $1', [limit])
      ).rows.map(toAudit),
    );
  }

  async latestChange(): Promise<number> {
    return this.#read((db) => this.#lastSeq(db));
  }

  async changesSince(cursor: number): Promise<{ changes: Change[]; cursor: number }> {
    // One statement, one snapshot: the newest seq must come from the same view as the rows,
    // or a change committed between two reads would be skipped by the returned cursor.
    const { rows } = await this.#read((db) =>
      db.query<{ seq: number | null; kind: Change['kind']; ref: string; last: number | null }>(
        `WITH newest AS (SELECT MAX(seq) AS last FROM changes)
         SELECT c.seq, c.kind, c.ref, newest.last
           FROM newest LEFT JOIN changes c ON c.seq > $1
          ORDER BY c.seq`,
        [cursor],
      ),
    );
    const changes: Change[] = rows
      .filter((row) => row.seq !== null)
      .map((row) => ({ seq: row.seq!, kind: row.kind, ref: row.ref }));
    return {
      changes,
      cursor: changes.at(-1)?.seq ?? Math.max(cursor, rows[0]?.last ?? 0),
    };
  }

  watch(onChange: () => void): () => void {
    this.#watchers.add(onChange);
    if (!this.#listener) {
      this.#listener = new ChangeListener(this.#config, this.#instanceId, () => {
        for (const watcher of this.#watchers) watcher();
      });
      this.#listener.start();
    }
    return () => {
      this.#watchers.delete(onChange);
      if (this.#watchers.size === 0 && this.#listener) {
        void this.#listener.stop();
        this.#listener = undefined;
      }
    };
  }

  /** Push-notified through LISTEN/NOTIFY: there is never anything to poll for. */
  hasForeignChanges(): boolean {
    return false;
  }

  async #selectKeys(db: Queryable): Promise<KeyRow[]> {
    return (await db.query<KeyRow>('SELECT * FROM signing_keys ORDER BY created_at, kid')).rows;
  }

  async #lastSeq(db: Queryable): Promise<number> {
    const { rows } = await db.query<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM changes');
    return rows[0]?.seq ?? 0;
  }

  /**
   * Appends a change and queues the NOTIFY (sent on commit). The advisory lock is held until
   * the transaction ends, so change rows commit in sequence order.
   */
  async #recordChange(db: Queryable, kind: ChangeKind, ref: string): Promise<number> {
    await db.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [changesLock]);
    const { rows } = await db.query<{ seq: number }>(
      'INSERT INTO changes (kind, ref, at) VALUES ($1, $2, $3) RETURNING seq',
      [kind, ref, nowSeconds()],
    );
    await db.query(`SELECT pg_notify(${channelSql}, $1)`, [this.#instanceId]);
    return rows[0]!.seq;
  }

  /**
   * Runs `fn` and records a change in one transaction, with the audit entries unless `fn`
   * reports that it found nothing to change (returns false).
   */
  #write<T>(
    kind: ChangeKind,
    ref: string,
    fn: (db: Queryable) => Promise<T>,
    audit?: readonly AuditEntry[],
  ): Promise<T> {
    return this.#transaction(async (db) => {
      const result = await fn(db);
      await this.#recordChange(db, kind, ref);
      if (result !== false) for (const entry of audit ?? []) await insertAudit(db, entry);
      return result;
    });
  }

  /** A transaction serialized with every other key write of this schema, on every instance. */
  #keysTransaction<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    return this.#transaction(async (db) => {
      await db.query('SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))', [keysLock]);
      return fn(db);
    });
  }

  /** A read on any pooled connection, tried once more on a fresh one if the first was broken. */
  async #read<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await fn(this.#pool);
      } catch (error) {
        if (attempt >= 2 || !isConnectionError(error)) throw storeError(error);
      }
    }
  }

  /**
   * Runs `fn` inside BEGIN … COMMIT on one connection. Only acquiring the connection and BEGIN
   * are retried (nothing was written yet); a failure after that is reported, never replayed,
   * and a failed COMMIT is reported as unavailable: the caller was not told it succeeded.
   */
  async #transaction<T>(fn: (db: Queryable) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      let client: pg.PoolClient;
      try {
        client = await this.#pool.connect();
      } catch (error) {
        if (attempt >= beginAttempts || !isConnectionError(error)) throw storeError(error);
        continue;
      }
      // A checked-out connection has no listener of the pool's: a broken socket would
      // otherwise raise an unhandled 'error' event and end the process.
      let broken: Error | undefined;
      const onError = (error: Error) => {
        broken ??= error;
      };
      client.on('error', onError);
      let begun = false;
      try {
        await client.query('BEGIN');
        begun = true;
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        if (isConnectionError(error)) broken ??= error as Error;
        else await client.query('ROLLBACK').catch((rollback: Error) => (broken ??= rollback));
        if (begun || attempt >= beginAttempts || !isConnectionError(error)) throw storeError(error);
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    }
  }
}

function insertAudit(db: Queryable, entry: AuditEntry): Promise<unknown> {
  return db.query(
    'INSERT INTO audit_log (at, actor, action, target, details) VALUES ($1, $2, $3, $4, $5)',
    [entry.at, entry.actor, entry.action, entry.target, JSON.stringify(entry.details)],
  );
}
