import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
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
  SecretRecord,
  SequencedRevocation,
  Store,
} from '../contract.js';
import { sqliteMigrations } from './migrations.js';
import { recordSecretUseSql, SecretUseWriter } from './secret-use-writer.js';
import {
  toClient,
  toKey,
  toRevocation,
  type ClientRow,
  type KeyRow,
  type RevocationRow,
  type SecretRow,
} from '../rows.js';

/** A clients row as SQLite stores it: JSON text where PostgreSQL has jsonb. */
type SqliteClientRow = Omit<ClientRow, 'scopes' | 'audiences' | 'auth_config' | 'grant_types'> & {
  scopes: string;
  audiences: string;
  auth_config: string;
  grant_types: string;
};

const nowSeconds = () => Math.floor(Date.now() / 1000);
/** How often the store looks for commits by other processes when nobody asks (ms). */
const watchIntervalMs = 200;

/**
 * The embedded default store: one SQLite file in WAL mode. Writes use `synchronous=FULL` so a
 * write the CLI acknowledged survives a kill -9 or power loss right after it returns.
 */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  readonly #db: Database.Database;
  #dataVersion: number;
  readonly #watchers = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;

  constructor(readonly path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
    this.#dataVersion = this.#readDataVersion();
  }

  async migrate(): Promise<void> {
    const db = this.#db;
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    // IMMEDIATE takes the write lock first, so two processes starting together do not both
    // apply the same migration.
    db.transaction(() => {
      const applied = new Set(
        (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map(
          (r) => r.version,
        ),
      );
      for (const migration of sqliteMigrations) {
        if (applied.has(migration.version)) continue;
        db.exec(migration.sql);
        db.prepare(
          'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
        ).run(migration.version, migration.name, nowSeconds());
      }
    }).immediate();
  }

  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#watchers.clear();
    await this.#writer?.close();
    if (this.#db.open) this.#db.close();
  }

  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    const row = this.#db.prepare('SELECT * FROM clients WHERE client_id = ?').get(clientId) as
      SqliteClientRow | undefined;
    if (!row) return undefined;
    const secrets = this.#db
      .prepare('SELECT * FROM client_secrets WHERE client_id = ? ORDER BY created_at, rowid')
      .all(clientId) as SecretRow[];
    return decodeClient(row, secrets);
  }

  async listClients(): Promise<ClientRecord[]> {
    const rows = this.#db
      .prepare('SELECT * FROM clients ORDER BY created_at, client_id')
      .all() as SqliteClientRow[];
    const secrets = this.#db
      .prepare('SELECT * FROM client_secrets ORDER BY created_at, rowid')
      .all() as SecretRow[];
    const byClient = new Map<string, SecretRow[]>();
    for (const secret of secrets) {
      const list = byClient.get(secret.client_id);
      if (list) list.push(secret);
      else byClient.set(secret.client_id, [secret]);
    }
    return rows.map((row) => decodeClient(row, byClient.get(row.client_id) ?? []));
  }

  async createClient(client: NewClient, audit?: readonly AuditEntry[]): Promise<ClientRecord> {
    const now = nowSeconds();
    this.#write(
      'client',
      client.clientId,
      () => {
        this.#db
          .prepare(
            `INSERT INTO clients (client_id, name, status, scopes, audiences, token_ttl, auth_method, auth_config, grant_types, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            client.clientId,
            client.name,
            client.status,
            JSON.stringify(client.scopes),
            JSON.stringify(client.audiences),
            client.tokenTtl,
            client.authMethod,
            JSON.stringify(client.authConfig),
            JSON.stringify(client.grantTypes),
            client.createdAt ?? now,
            client.updatedAt ?? now,
          );
        for (const secret of client.secrets) this.#insertSecret(client.clientId, secret);
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
    const columns: Record<string, unknown> = {};
    if (patch.name !== undefined) columns.name = patch.name;
    if (patch.status !== undefined) columns.status = patch.status;
    if (patch.scopes !== undefined) columns.scopes = JSON.stringify(patch.scopes);
    if (patch.audiences !== undefined) columns.audiences = JSON.stringify(patch.audiences);
    if (patch.tokenTtl !== undefined) columns.token_ttl = patch.tokenTtl;
    if (patch.authMethod !== undefined) columns.auth_method = patch.authMethod;
    if (patch.authConfig !== undefined) columns.auth_config = JSON.stringify(patch.authConfig);
    if (patch.grantTypes !== undefined) columns.grant_types = JSON.stringify(patch.grantTypes);
    columns.updated_at = nowSeconds();
    const names = Object.keys(columns);
    const changed = this.#write(
      'client',
      clientId,
      () =>
        this.#db
          .prepare(
            `UPDATE clients SET ${names.map((n) => `${n} = @${n}`).join(', ')} WHERE client_id = @client_id`,
          )
          .run({ ...columns, client_id: clientId }).changes > 0,
      audit,
    );
    return changed ? this.getClient(clientId) : undefined;
  }

  async deleteClient(clientId: string, audit?: readonly AuditEntry[]): Promise<boolean> {
    return this.#write(
      'client',
      clientId,
      () => this.#db.prepare('DELETE FROM clients WHERE client_id = ?').run(clientId).changes > 0,
      audit,
    );
  }

  async changeSecrets(
    clientId: string,
    change: SecretChange,
    audit?: readonly AuditEntry[],
  ): Promise<void> {
    this.#write(
      'client',
      clientId,
      () => {
        for (const secret of change.add ?? []) this.#insertSecret(clientId, secret);
        const expire = this.#db.prepare(
          'UPDATE client_secrets SET expires_at = ? WHERE client_id = ? AND id = ?',
        );
        for (const { id, expiresAt } of change.expire ?? []) expire.run(expiresAt, clientId, id);
        const remove = this.#db.prepare(
          'DELETE FROM client_secrets WHERE client_id = ? AND id = ?',
        );
        for (const id of change.remove ?? []) remove.run(clientId, id);
      },
      audit,
    );
  }

  async recordSecretUse(
    uses: ReadonlyArray<{ clientId: string; secretId: string; at: number }>,
  ): Promise<void> {
    // Usage bookkeeping only: no change record, so it does not invalidate other caches.
    const writer = this.#secretUseWriter();
    if (writer) return writer.write(uses);
    const update = this.#db.prepare(recordSecretUseSql);
    // Last-use times are hints, not acknowledged writes: skip the fsync (WAL + NORMAL is
    // still crash-safe, it may only lose the newest hints), which kept the 100k-client bench's
    // event loop waiting on the disk every flush.
    this.#db.pragma('synchronous = NORMAL');
    try {
      this.#db.transaction(() => {
        for (const use of uses) update.run(use.at, use.clientId, use.secretId);
      })();
    } finally {
      this.#db.pragma('synchronous = FULL');
    }
  }

  #writer: SecretUseWriter | undefined;
  /** Started on the first secret-use flush, so only a serving process runs the thread. */
  #secretUseWriter(): SecretUseWriter | undefined {
    if (this.path === ':memory:' || !this.#db.open) return undefined;
    this.#writer ??= new SecretUseWriter(this.path);
    return this.#writer.available ? this.#writer : undefined;
  }

  async listKeys(): Promise<KeyRecord[]> {
    const rows = this.#db
      .prepare('SELECT * FROM signing_keys ORDER BY created_at, kid')
      .all() as KeyRow[];
    return rows.map(toKey);
  }

  async insertKey(key: KeyRecord): Promise<void> {
    this.#write('key', key.kid, () => this.#insertKey(key));
  }

  async insertKeyIfNoneActive(key: KeyRecord): Promise<boolean> {
    return this.#write('key', key.kid, () => {
      const active = this.#db
        .prepare("SELECT kid FROM signing_keys WHERE alg = ? AND state = 'active'")
        .get(key.alg);
      if (active) return false;
      this.#insertKey(key);
      return true;
    });
  }

  async transitionKeys(
    plan: (keys: readonly KeyRecord[]) => { patches: KeyPatch[]; insert?: KeyRecord[] },
  ): Promise<boolean> {
    return this.#db
      .transaction(() => {
        const keys = (
          this.#db.prepare('SELECT * FROM signing_keys ORDER BY created_at, kid').all() as KeyRow[]
        ).map(toKey);
        const { patches, insert = [] } = plan(keys);
        if (patches.length === 0 && insert.length === 0) return false;
        const update = this.#db.prepare(
          'UPDATE signing_keys SET state = COALESCE(@state, state), activates_at = @activatesAt, retires_at = @retiresAt WHERE kid = @kid',
        );
        for (const patch of patches) {
          const current = keys.find((key) => key.kid === patch.kid);
          if (!current) continue;
          update.run({
            kid: patch.kid,
            state: patch.state ?? null,
            activatesAt: patch.activatesAt !== undefined ? patch.activatesAt : current.activatesAt,
            retiresAt: patch.retiresAt !== undefined ? patch.retiresAt : current.retiresAt,
          });
        }
        for (const key of insert) this.#insertKey(key);
        this.#db
          .prepare("INSERT INTO changes (kind, ref, at) VALUES ('key', '*', ?)")
          .run(nowSeconds());
        return true;
      })
      .immediate();
  }

  async updateKey(
    kid: string,
    patch: Partial<Pick<KeyRecord, 'state' | 'activatesAt' | 'retiresAt'>>,
  ): Promise<void> {
    this.#write('key', kid, () => {
      const current = this.#db.prepare('SELECT * FROM signing_keys WHERE kid = ?').get(kid) as
        KeyRow | undefined;
      if (!current) return;
      this.#db
        .prepare(
          'UPDATE signing_keys SET state = ?, activates_at = ?, retires_at = ? WHERE kid = ?',
        )
        .run(
          patch.state ?? current.state,
          patch.activatesAt !== undefined ? patch.activatesAt : current.activates_at,
          patch.retiresAt !== undefined ? patch.retiresAt : current.retires_at,
          kid,
        );
    });
  }

  async rewrap(update: {
    keys: Array<{ kid: string; encryptedPrivateKey: string }>;
    settings: Array<{ name: string; value: string }>;
  }): Promise<void> {
    this.#write('key', '*', () => {
      const key = this.#db.prepare(
        'UPDATE signing_keys SET encrypted_private_key = ? WHERE kid = ?',
      );
      for (const { kid, encryptedPrivateKey } of update.keys) key.run(encryptedPrivateKey, kid);
      const setting = this.#db.prepare('UPDATE settings SET value = ? WHERE name = ?');
      for (const { name, value } of update.settings) setting.run(value, name);
    });
  }

  /** A consistent copy of the live database, taken with SQLite's online backup API. */
  async backup(destination: string): Promise<void> {
    await this.#db.backup(destination);
  }

  async ensureSetting(name: string, value: string): Promise<string> {
    return this.#write('setting', name, () => {
      this.#db
        .prepare('INSERT OR IGNORE INTO settings (name, value) VALUES (?, ?)')
        .run(name, value);
      return (
        this.#db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as { value: string }
      ).value;
    });
  }

  async getSetting(name: string): Promise<string | undefined> {
    const row = this.#db.prepare('SELECT value FROM settings WHERE name = ?').get(name) as
      { value: string } | undefined;
    return row?.value;
  }

  async setSetting(name: string, value: string): Promise<void> {
    this.#write('setting', name, () =>
      this.#db
        .prepare(
          'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
        )
        .run(name, value),
    );
  }

  async listSettings(): Promise<Array<{ name: string; value: string }>> {
    return this.#db.prepare('SELECT name, value FROM settings ORDER BY name').all() as Array<{
      name: string;
      value: string;
    }>;
  }

  async addRevocation(revocation: RevocationRecord): Promise<number> {
    return this.#db
      .transaction(() => {
        const inserted = this.#db
          .prepare(
            'INSERT OR IGNORE INTO revocations (jti, client_id, expires_at, revoked_at) VALUES (?, ?, ?, ?)',
          )
          .run(
            revocation.jti,
            revocation.clientId,
            revocation.expiresAt,
            revocation.revokedAt,
          ).changes;
        if (inserted === 0) {
          const existing = this.#db
            .prepare("SELECT MAX(seq) AS seq FROM changes WHERE kind = 'revocation' AND ref = ?")
            .get(revocation.jti) as { seq: number | null };
          return existing.seq ?? 0;
        }
        return Number(
          this.#db
            .prepare("INSERT INTO changes (kind, ref, at) VALUES ('revocation', ?, ?)")
            .run(revocation.jti, nowSeconds()).lastInsertRowid,
        );
      })
      .immediate();
  }

  async listRevocations(afterSeq = 0): Promise<SequencedRevocation[]> {
    const rows = this.#db
      .prepare(
        `SELECT r.jti, r.client_id, r.expires_at, r.revoked_at, MAX(c.seq) AS seq
           FROM changes c JOIN revocations r ON r.jti = c.ref
          WHERE c.kind = 'revocation' AND c.seq > ?
          GROUP BY r.jti ORDER BY seq`,
      )
      .all(afterSeq) as RevocationRow[];
    return rows.map(toRevocation);
  }

  async prune(now: number, changesBefore: number): Promise<number> {
    return this.#db
      .transaction(() => {
        const revocations = this.#db
          .prepare('DELETE FROM revocations WHERE expires_at < ?')
          .run(now).changes;
        // Keep change rows that still name a live revocation: feed cursors count in them.
        this.#db
          .prepare(
            "DELETE FROM changes WHERE at < ? AND NOT (kind = 'revocation' AND ref IN (SELECT jti FROM revocations))",
          )
          .run(changesBefore);
        return revocations;
      })
      .immediate();
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    this.#insertAudit(entry);
  }

  #insertAudit(entry: AuditEntry): void {
    this.#db
      .prepare('INSERT INTO audit_log (at, actor, action, target, details) VALUES (?, ?, ?, ?, ?)')
      .run(entry.at, entry.actor, entry.action, entry.target, JSON.stringify(entry.details));
  }

  async listAudit(limit: number): Promise<AuditEntry[]> {
    const rows = this.#db
      .prepare('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?')
      .all(limit) as {
      id: number;
      at: number;
      actor: string;
      action: string;
      target: string | null;
      details: string;
    }[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      actor: r.actor,
      action: r.action,
      target: r.target,
      details: JSON.parse(r.details),
    }));
  }

  async latestChange(): Promise<number> {
    return this.#lastSeq();
  }

  async changesSince(cursor: number): Promise<{ changes: Change[]; cursor: number }> {
    const changes = this.#db
      .prepare('SELECT seq, kind, ref FROM changes WHERE seq > ? ORDER BY seq')
      .all(cursor) as Change[];
    const last = changes.at(-1)?.seq ?? Math.max(cursor, this.#lastSeq());
    return { changes, cursor: last };
  }

  watch(onChange: () => void): () => void {
    this.#watchers.add(onChange);
    if (!this.#timer) {
      this.#timer = setInterval(() => {
        if (this.hasForeignChanges()) for (const watcher of this.#watchers) watcher();
      }, watchIntervalMs);
      this.#timer.unref();
    }
    return () => {
      this.#watchers.delete(onChange);
      if (this.#watchers.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = undefined;
      }
    };
  }

  hasForeignChanges(): boolean {
    const version = this.#readDataVersion();
    if (version === this.#dataVersion) return false;
    this.#dataVersion = version;
    return true;
  }

  // Prepared once: this runs on every token request, and db.pragma() prepares it each time.
  #dataVersionStatement: Database.Statement | undefined;
  #readDataVersion(): number {
    this.#dataVersionStatement ??= this.#db.prepare('PRAGMA data_version').pluck();
    return this.#dataVersionStatement.get() as number;
  }

  #lastSeq(): number {
    const row = this.#db.prepare('SELECT MAX(seq) AS seq FROM changes').get() as {
      seq: number | null;
    };
    return row.seq ?? 0;
  }

  /**
   * Runs `fn` and records a change in one IMMEDIATE transaction, with the audit entries
   * unless `fn` reports that it found nothing to change (returns false).
   */
  #write<T>(kind: ChangeKind, ref: string, fn: () => T, audit?: readonly AuditEntry[]): T {
    return this.#db
      .transaction(() => {
        const result = fn();
        this.#db
          .prepare('INSERT INTO changes (kind, ref, at) VALUES (?, ?, ?)')
          .run(kind, ref, nowSeconds());
        if (result !== false) for (const entry of audit ?? []) this.#insertAudit(entry);
        return result;
      })
      .immediate();
  }

  #insertSecret(clientId: string, secret: SecretRecord): void {
    this.#db
      .prepare(
        'INSERT INTO client_secrets (id, client_id, hash, created_at, expires_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(secret.id, clientId, secret.hash, secret.createdAt, secret.expiresAt, secret.lastUsedAt);
  }

  #insertKey(key: KeyRecord): void {
    this.#db
      .prepare(
        `INSERT INTO signing_keys (kid, alg, state, public_jwk, encrypted_private_key, created_at, activates_at, retires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        key.kid,
        key.alg,
        key.state,
        JSON.stringify(key.publicJwk),
        key.encryptedPrivateKey,
        key.createdAt,
        key.activatesAt,
        key.retiresAt,
      );
  }
}

function decodeClient(row: SqliteClientRow, secrets: SecretRow[]): ClientRecord {
  return toClient(
    {
      ...row,
      scopes: JSON.parse(row.scopes) as string[],
      audiences: JSON.parse(row.audiences) as string[],
      auth_config: JSON.parse(row.auth_config) as ClientRecord['authConfig'],
      grant_types: JSON.parse(row.grant_types) as string[],
    },
    secrets,
  );
}
