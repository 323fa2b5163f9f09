/**
 * The one store: every operation of the contract, written once over a {@link SqlDriver}
 * (sqlite/sqlite-driver.ts, postgres/postgres-driver.ts), so both dialects keep the same
 * semantics: each write and its change row (and audit entries) commit in one transaction.
 *
 * Adding a column (say `clients.contact`) takes three edits, all in this folder:
 * 1. migrations.ts: append `{ version: N + 1, name, sql }`, one string when both dialects
 *    accept it (`ALTER TABLE clients ADD COLUMN contact text`), `{ sqlite, postgres }` when
 *    they differ (JSON: `TEXT` vs `jsonb`). Never edit an applied migration.
 * 2. rows.ts: the row field, its line in `toClient`, and its entry in `clientColumns` (the
 *    column and its encoding), which both INSERT and UPDATE are built from.
 *    `clientColumns` is typed from the record, so forgetting this entry fails to compile.
 * 3. contract.ts: the record field (and `ClientPatch` if it can be changed).
 * That is all (six lines for a nullable text column, tried on both dialects): no SQL here or
 * in a driver changes, and `tessera migrate-store` copies the field with the record. Then
 * extend store-contract.test.ts, which runs over both dialects. A column of another table
 * (keys, audit) is the same three files: its migration, its `insert*Sql`, `*Params` and `to*`
 * in rows.ts, and the contract (plus this file's UPDATE if the column can change).
 */
import type {
  AuditEntry,
  Change,
  EventFailure,
  ClientPage,
  ClientPageQuery,
  ChangeKind,
  ClientPatch,
  ClientRecord,
  ConsoleSessionRecord,
  KeyPatch,
  KeyRecord,
  NewClient,
  OperatorRecord,
  TenantOperatorRecord,
  RevocationRecord,
  SecretChange,
  SequencedRevocation,
  Store,
  NewTenant,
  TenantPatch,
  TenantRecord,
} from './contract.js';
import { defaultTenant } from '../tenants/tenant-name.js';
import {
  eventsForAudit,
  eventsForKeys,
  type NewEvent,
  type StoredEvent,
} from '../events/event-types.js';
import { applyMigrations } from './migrations.js';
import { ClientIdTakenError } from './errors.js';
import {
  auditParams,
  clientAssignments,
  insertAuditSql,
  insertKeySql,
  insertSecretSql,
  keyParams,
  secretParams,
  toAudit,
  toClient,
  toConsoleSession,
  toOperator,
  toTenantOperator,
  toKey,
  toRevocation,
  toTenant,
  tenantAssignments,
  type TenantRow,
  type AuditRow,
  type ClientRow,
  type ConsoleSessionRow,
  type OperatorRow,
  type TenantOperatorRow,
  type KeyRow,
  type RevocationRow,
  type SecretRow,
  eventParams,
  insertEventSql,
  toEvent,
  type EventRow,
} from './rows.js';
import type { Dialect, SecretUse, SqlDriver, SqlExecutor } from './sql-driver.js';

const nowSeconds = () => Math.floor(Date.now() / 1000);
/** Undelivered events older than this are deleted by `prune` all the same. */
const eventRetentionSeconds = 7 * 86400;

/** The greatest code point: `q` … `q + top` is the range of every text starting with `q`. */
const top = '\u{10FFFF}';
/** Rows per multi-row INSERT of `importClients` (11 parameters each: well under both limits). */
const importChunk = 1_000;

const selectKeysSql = 'SELECT * FROM signing_keys WHERE tenant = ? ORDER BY created_at, kid';
const updateKeySql =
  'UPDATE signing_keys SET state = ?, activates_at = ?, retires_at = ? WHERE kid = ? AND tenant = ?';
const selectSettingSql = 'SELECT value FROM settings WHERE name = ?';
/**
 * One statement, one snapshot: the newest seq comes from the same view as the rows, or a
 * change committed between two reads would be skipped by the returned cursor.
 */
const changesSinceSql = `WITH newest AS (SELECT MAX(seq) AS last FROM changes)
  SELECT c.seq, c.kind, c.ref, c.tenant, newest.last
    FROM newest LEFT JOIN changes c ON c.seq > ?
   ORDER BY c.seq`;

/** What the scoped stores of one database share: the change watchers. */
interface Watching {
  watchers: Set<() => void>;
  unwatch: (() => void) | undefined;
}

export class SqlStore implements Store {
  readonly kind: Dialect;
  readonly tenant: string;
  readonly #db: SqlDriver;
  readonly #secretsOfClientSql: string;
  readonly #allSecretsSql: string;
  readonly #watching: Watching;
  readonly #scoped = new Map<string, SqlStore>();

  constructor(driver: SqlDriver, tenant: string = defaultTenant, watching?: Watching) {
    this.#db = driver;
    this.kind = driver.dialect;
    this.tenant = tenant;
    this.#watching = watching ?? { watchers: new Set(), unwatch: undefined };
    this.#secretsOfClientSql = `SELECT * FROM client_secrets WHERE client_id = ? ORDER BY created_at, ${driver.insertionOrder}`;
    this.#allSecretsSql = `SELECT s.* FROM client_secrets s JOIN clients c ON c.client_id = s.client_id
      WHERE c.tenant = ? ORDER BY s.created_at, s.${driver.insertionOrder}`;
  }

  forTenant(name: string): Store {
    if (name === this.tenant) return this;
    let scoped = this.#scoped.get(name);
    if (!scoped) {
      // One scoped store per name, over the same driver and watchers (close only the root's).
      scoped = new SqlStore(this.#db, name, this.#watching);
      this.#scoped.set(name, scoped);
    }
    return scoped;
  }

  async listTenants(): Promise<TenantRecord[]> {
    return (await this.#db.all<TenantRow>('SELECT * FROM tenants ORDER BY name')).map(toTenant);
  }

  async getTenant(name: string): Promise<TenantRecord | undefined> {
    const [row] = await this.#db.all<TenantRow>('SELECT * FROM tenants WHERE name = ?', [name]);
    return row && toTenant(row);
  }

  async createTenant(tenant: NewTenant, audit: readonly AuditEntry[] = []): Promise<TenantRecord> {
    const now = nowSeconds();
    await this.#db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO tenants (name, issuer, preset, token_ttl, signing_alg, default_audience, settings, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          tenant.name,
          tenant.issuer,
          tenant.preset,
          tenant.tokenTtl,
          tenant.signingAlg,
          tenant.defaultAudience,
          JSON.stringify(tenant.settings),
          now,
          now,
        ],
      );
      await this.#recordChange(tx, 'tenant', tenant.name, tenant.name);
      await this.#audit(tx, audit, [tenant.name, defaultTenant]);
    });
    return (await this.getTenant(tenant.name))!;
  }

  async updateTenant(
    name: string,
    patch: TenantPatch,
    audit: readonly AuditEntry[] = [],
  ): Promise<TenantRecord | undefined> {
    const columns = tenantAssignments(patch);
    columns.push(['updated_at', nowSeconds()]);
    const changed = await this.#db.transaction(async (tx) => {
      const updated = await tx.run(
        `UPDATE tenants SET ${columns.map(([column]) => `${column} = ?`).join(', ')} WHERE name = ?`,
        [...columns.map(([, value]) => value), name],
      );
      if (updated === 0) return false;
      await this.#recordChange(tx, 'tenant', name, name);
      await this.#audit(tx, audit, [name]);
      return true;
    });
    return changed ? this.getTenant(name) : undefined;
  }

  async deleteTenant(name: string, audit: readonly AuditEntry[] = []): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const deleted = await tx.run('DELETE FROM tenants WHERE name = ?', [name]);
      if (deleted === 0) return false;
      await tx.run(
        'DELETE FROM client_secrets WHERE client_id IN (SELECT client_id FROM clients WHERE tenant = ?)',
        [name],
      );
      await tx.run('DELETE FROM clients WHERE tenant = ?', [name]);
      await tx.run('DELETE FROM signing_keys WHERE tenant = ?', [name]);
      await tx.run('DELETE FROM revocations WHERE tenant = ?', [name]);
      await tx.run('DELETE FROM tenant_operators WHERE tenant = ?', [name]);
      await this.#recordChange(tx, 'tenant', name, name);
      await this.#audit(tx, audit, [name, defaultTenant]);
      return true;
    });
  }

  migrate(): Promise<void> {
    return applyMigrations(this.#db);
  }

  close(): Promise<void> {
    // The driver's close stops its change source (and waits for it).
    this.#watching.watchers.clear();
    this.#watching.unwatch = undefined;
    return this.#db.close();
  }

  async ping(): Promise<void> {
    await this.#db.all('SELECT 1');
  }

  async getClient(clientId: string): Promise<ClientRecord | undefined> {
    const rows = await this.#db.all<ClientRow>(
      'SELECT * FROM clients WHERE client_id = ? AND tenant = ?',
      [clientId, this.tenant],
    );
    if (!rows[0]) return undefined;
    return toClient(rows[0], await this.#db.all<SecretRow>(this.#secretsOfClientSql, [clientId]));
  }

  async listClients(): Promise<ClientRecord[]> {
    const rows = await this.#db.all<ClientRow>(
      'SELECT * FROM clients WHERE tenant = ? ORDER BY created_at, client_id',
      [this.tenant],
    );
    const secrets = await this.#db.all<SecretRow>(this.#allSecretsSql, [this.tenant]);
    const byClient = new Map<string, SecretRow[]>();
    for (const secret of secrets) {
      const list = byClient.get(secret.client_id);
      if (list) list.push(secret);
      else byClient.set(secret.client_id, [secret]);
    }
    return rows.map((row) => toClient(row, byClient.get(row.client_id) ?? []));
  }

  async listClientPage({ limit, after, q }: ClientPageQuery): Promise<ClientPage> {
    const search = q !== undefined && q !== '';
    // A search reads the two prefix indexes (a multi-index OR) and filters by tenant: on
    // SQLite, `tenant = ?` alone would pick clients_created and walk the whole tenant in
    // order for a rare prefix (250 ms at a million clients, against 1 ms).
    const conditions: string[] = [search ? `${this.#db.notIndexed}tenant = ?` : 'tenant = ?'];
    const params: unknown[] = [this.tenant];
    if (search) {
      const b = this.#db.bytewise;
      conditions.push(
        `((lower(name)${b} >= ? AND lower(name)${b} < ?) OR (client_id${b} >= ? AND client_id${b} < ?))`,
      );
      const lower = q.toLowerCase();
      params.push(lower, lower + top, q, q + top);
    }
    if (after) {
      conditions.push('(created_at, client_id) > (?, ?)');
      params.push(after.createdAt, after.clientId);
    }
    const where = `WHERE ${conditions.join(' AND ')}`;
    const rows = await this.#db.all<ClientRow>(
      `SELECT * FROM clients ${where} ORDER BY tenant, created_at, client_id LIMIT ?`,
      [...params, limit + 1],
    );
    const page = rows.slice(0, limit);
    const byClient = new Map<string, SecretRow[]>(page.map((row) => [row.client_id, []]));
    if (page.length > 0) {
      const secrets = await this.#db.all<SecretRow>(
        `SELECT * FROM client_secrets WHERE client_id IN (${page.map(() => '?').join(', ')})
          ORDER BY created_at, ${this.#db.insertionOrder}`,
        page.map((row) => row.client_id),
      );
      for (const secret of secrets) byClient.get(secret.client_id)?.push(secret);
    }
    return {
      clients: page.map((row) => toClient(row, byClient.get(row.client_id) ?? [])),
      more: rows.length > limit,
    };
  }

  async importClients(clients: readonly NewClient[]): Promise<number> {
    if (clients.length === 0) return 0;
    const now = nowSeconds();
    return this.#write('client', '*', async (tx) => {
      for (let start = 0; start < clients.length; start += importChunk) {
        const chunk = clients.slice(start, start + importChunk);
        const rows = chunk.map((client) => insertColumns(client, now, this.tenant));
        const names = rows[0]!.map(([name]) => name);
        const row = `(${names.map(() => '?').join(', ')})`;
        await tx.run(
          `INSERT INTO clients (${names.join(', ')}) VALUES ${rows.map(() => row).join(', ')}`,
          rows.flatMap((columns) => {
            if (columns.length !== names.length) throw new Error('importClients: uneven clients');
            return columns.map(([, value]) => value);
          }),
        );
        const secrets = chunk.flatMap((client) =>
          client.secrets.map((secret) => secretParams(client.clientId, secret)),
        );
        for (let at = 0; at < secrets.length; at += importChunk) {
          const part = secrets.slice(at, at + importChunk);
          await tx.run(
            `${insertSecretSql}${', (?, ?, ?, ?, ?, ?)'.repeat(part.length - 1)}`,
            part.flat(),
          );
        }
      }
      return clients.length;
    });
  }

  async tokenLifetimes(): Promise<{ longest: number | null; someDefault: boolean }> {
    const rows = await this.#db.all<{ longest: number | null; defaulted: number | null }>(
      `SELECT MAX(token_ttl) AS longest,
              (SELECT 1 FROM clients WHERE token_ttl IS NULL AND tenant = ? LIMIT 1) AS defaulted
         FROM clients WHERE tenant = ?`,
      [this.tenant, this.tenant],
    );
    return { longest: rows[0]?.longest ?? null, someDefault: rows[0]?.defaulted != null };
  }

  async createClient(client: NewClient, audit?: readonly AuditEntry[]): Promise<ClientRecord> {
    const columns = insertColumns(client, nowSeconds(), this.tenant);
    await this.#write(
      'client',
      client.clientId,
      async (tx) => {
        // Globally unique across tenants; refused without saying which tenant holds it.
        const taken = await tx.all('SELECT 1 FROM clients WHERE client_id = ?', [client.clientId]);
        if (taken.length > 0) throw new ClientIdTakenError(client.clientId);
        await tx.run(
          `INSERT INTO clients (${columns.map(([name]) => name).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
          columns.map(([, value]) => value),
        );
        for (const secret of client.secrets)
          await tx.run(insertSecretSql, secretParams(client.clientId, secret));
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
    const columns = clientAssignments(patch);
    columns.push(['updated_at', nowSeconds()]);
    const sql = `UPDATE clients SET ${columns.map(([name]) => `${name} = ?`).join(', ')} WHERE client_id = ? AND tenant = ?`;
    const params = [...columns.map(([, value]) => value), clientId, this.tenant];
    const changed = await this.#write(
      'client',
      clientId,
      async (tx) => (await tx.run(sql, params)) > 0,
      audit,
    );
    return changed ? this.getClient(clientId) : undefined;
  }

  async deleteClient(clientId: string, audit?: readonly AuditEntry[]): Promise<boolean> {
    return this.#write(
      'client',
      clientId,
      async (tx) =>
        (await tx.run('DELETE FROM clients WHERE client_id = ? AND tenant = ?', [
          clientId,
          this.tenant,
        ])) > 0,
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
      async (tx) => {
        // Secrets are keyed by client_id alone: another tenant's client is not touched.
        const owned = await tx.all('SELECT 1 FROM clients WHERE client_id = ? AND tenant = ?', [
          clientId,
          this.tenant,
        ]);
        if (owned.length === 0) return false;
        for (const secret of change.add ?? [])
          await tx.run(insertSecretSql, secretParams(clientId, secret));
        for (const { id, expiresAt } of change.expire ?? [])
          await tx.run('UPDATE client_secrets SET expires_at = ? WHERE client_id = ? AND id = ?', [
            expiresAt,
            clientId,
            id,
          ]);
        for (const id of change.remove ?? [])
          await tx.run('DELETE FROM client_secrets WHERE client_id = ? AND id = ?', [clientId, id]);
        return true;
      },
      audit,
    );
  }

  /** Usage bookkeeping only: no change row, so it does not invalidate other caches. */
  async recordSecretUse(uses: readonly SecretUse[]): Promise<void> {
    if (uses.length > 0) await this.#db.recordSecretUse(uses);
  }

  async listKeys(): Promise<KeyRecord[]> {
    return (await this.#db.all<KeyRow>(selectKeysSql, [this.tenant])).map(toKey);
  }

  async insertKey(key: KeyRecord): Promise<void> {
    await this.#write('key', key.kid, async (tx) => {
      await tx.run(insertKeySql, keyParams(key, this.tenant));
      await this.#appendEvents(tx, eventsForKeys([], [], [key], Date.now()));
    });
  }

  async insertKeyIfNoneActive(key: KeyRecord): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const active = await tx.all(
        "SELECT kid FROM signing_keys WHERE alg = ? AND state = 'active' AND tenant = ?",
        [key.alg, this.tenant],
      );
      if (active.length > 0) return false;
      await tx.run(insertKeySql, keyParams(key, this.tenant));
      await this.#recordChange(tx, 'key', key.kid);
      await this.#appendEvents(tx, eventsForKeys([], [], [key], Date.now()));
      return true;
    }, 'keys');
  }

  async transitionKeys(
    plan: (keys: readonly KeyRecord[]) => { patches: KeyPatch[]; insert?: KeyRecord[] },
  ): Promise<boolean> {
    return this.#db.transaction(async (tx) => {
      const keys = (await tx.all<KeyRow>(selectKeysSql, [this.tenant])).map(toKey);
      const { patches, insert = [] } = plan(keys);
      if (patches.length === 0 && insert.length === 0) return false;
      for (const patch of patches) {
        const current = keys.find((key) => key.kid === patch.kid);
        if (current) await tx.run(updateKeySql, [...patchedKey(current, patch), this.tenant]);
      }
      for (const key of insert) await tx.run(insertKeySql, keyParams(key, this.tenant));
      await this.#recordChange(tx, 'key', '*');
      await this.#appendEvents(tx, eventsForKeys(keys, patches, insert, Date.now()));
      return true;
    }, 'keys');
  }

  async updateKey(
    kid: string,
    patch: Partial<Pick<KeyRecord, 'state' | 'activatesAt' | 'retiresAt'>>,
  ): Promise<void> {
    await this.#db.transaction(async (tx) => {
      const rows = await tx.all<KeyRow>('SELECT * FROM signing_keys WHERE kid = ? AND tenant = ?', [
        kid,
        this.tenant,
      ]);
      if (!rows[0]) return;
      const current = toKey(rows[0]);
      await tx.run(updateKeySql, [...patchedKey(current, { ...patch, kid }), this.tenant]);
      await this.#recordChange(tx, 'key', kid);
      await this.#appendEvents(tx, eventsForKeys([current], [{ ...patch, kid }], [], Date.now()));
    }, 'keys');
  }

  async rewrap(update: {
    keys: Array<{ kid: string; encryptedPrivateKey: string }>;
    settings: Array<{ name: string; value: string }>;
  }): Promise<void> {
    await this.#db.transaction(async (tx) => {
      for (const { kid, encryptedPrivateKey } of update.keys)
        await tx.run('UPDATE signing_keys SET encrypted_private_key = ? WHERE kid = ?', [
          encryptedPrivateKey,
          kid,
        ]);
      for (const { name, value } of update.settings)
        await tx.run('UPDATE settings SET value = ? WHERE name = ?', [value, name]);
      await this.#recordChange(tx, 'key', '*');
    }, 'keys');
  }

  async ensureSetting(name: string, value: string): Promise<string> {
    return this.#write('setting', name, async (tx) => {
      await tx.run(
        'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING',
        [name, value],
      );
      return (await tx.all<{ value: string }>(selectSettingSql, [name]))[0]!.value;
    });
  }

  async getSetting(name: string): Promise<string | undefined> {
    return (await this.#db.all<{ value: string }>(selectSettingSql, [name]))[0]?.value;
  }

  async setSetting(name: string, value: string): Promise<void> {
    await this.#write('setting', name, (tx) =>
      tx.run(
        'INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
        [name, value],
      ),
    );
  }

  async listSettings(): Promise<Array<{ name: string; value: string }>> {
    return this.#db.all('SELECT name, value FROM settings ORDER BY name');
  }

  async addRevocation(revocation: RevocationRecord): Promise<number> {
    return this.#db.transaction(async (tx) => {
      const inserted = await tx.run(
        'INSERT INTO revocations (jti, client_id, expires_at, revoked_at, tenant) VALUES (?, ?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING',
        [
          revocation.jti,
          revocation.clientId,
          revocation.expiresAt,
          revocation.revokedAt,
          this.tenant,
        ],
      );
      if (inserted > 0) return this.#recordChange(tx, 'revocation', revocation.jti);
      const rows = await tx.all<{ seq: number | null }>(
        "SELECT MAX(seq) AS seq FROM changes WHERE kind = 'revocation' AND ref = ?",
        [revocation.jti],
      );
      return rows[0]?.seq ?? 0;
    });
  }

  async listRevocations(afterSeq = 0): Promise<SequencedRevocation[]> {
    const rows = await this.#db.all<RevocationRow>(
      `SELECT r.jti, r.client_id, r.expires_at, r.revoked_at, MAX(c.seq) AS seq
         FROM changes c JOIN revocations r ON r.jti = c.ref
        WHERE c.kind = 'revocation' AND c.seq > ? AND r.tenant = ?
        GROUP BY r.jti, r.client_id, r.expires_at, r.revoked_at ORDER BY seq`,
      [afterSeq, this.tenant],
    );
    return rows.map(toRevocation);
  }

  async prune(now: number, changesBefore: number): Promise<number> {
    return this.#db.transaction(async (tx) => {
      const revocations = await tx.run('DELETE FROM revocations WHERE expires_at < ?', [now]);
      await tx.run('DELETE FROM console_sessions WHERE expires_at < ?', [now]);
      // Keep change rows that still name a live revocation: feed cursors count in them.
      await tx.run(
        `DELETE FROM changes WHERE at < ?
            AND NOT (kind = 'revocation' AND ref IN (SELECT jti FROM revocations))`,
        [changesBefore],
      );
      // Delivered (or given up) events are kept as long as change rows; any event a week.
      await tx.run(
        'DELETE FROM events WHERE at < ? AND (delivered_at IS NOT NULL OR abandoned = 1 OR at < ?)',
        [changesBefore * 1000, (now - eventRetentionSeconds) * 1000],
      );
      return revocations;
    });
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.#db.transaction((tx) => tx.run(insertAuditSql, auditParams(entry, this.tenant)));
  }

  async listAudit(
    limit: number,
    filter: { actor?: string | undefined } = {},
  ): Promise<AuditEntry[]> {
    const { actor } = filter;
    const rows =
      actor === undefined
        ? await this.#db.all<AuditRow>(
            'SELECT * FROM audit_log WHERE tenant = ? ORDER BY id DESC LIMIT ?',
            [this.tenant, limit],
          )
        : await this.#db.all<AuditRow>(
            `SELECT * FROM audit_log
              WHERE tenant = ? AND (actor = ? OR actor = ? OR actor_email = ? OR actor_subject = ?)
              ORDER BY id DESC LIMIT ?`,
            [this.tenant, actor, `admin-api:${actor}`, actor, actor, limit],
          );
    return rows.map(toAudit);
  }

  // --- console sessions and operators (issue 20) ----------------------------------------
  async putConsoleSession(session: ConsoleSessionRecord): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO console_sessions (id, kind, data, created_at, last_seen_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
        [
          session.id,
          session.kind,
          JSON.stringify(session.data),
          session.createdAt,
          session.lastSeenAt,
          session.expiresAt,
        ],
      );
      // A person's console session starting is `operator.signed_in`, committed with it.
      if (session.kind === 'session') await this.#appendEvents(tx, [signedInEvent(session)]);
    });
  }

  async getConsoleSession(id: string): Promise<ConsoleSessionRecord | undefined> {
    const [row] = await this.#db.all<ConsoleSessionRow>(
      'SELECT * FROM console_sessions WHERE id = ?',
      [id],
    );
    return row && toConsoleSession(row);
  }

  async touchConsoleSession(id: string, lastSeenAt: number): Promise<void> {
    await this.#db.transaction((tx) =>
      tx.run('UPDATE console_sessions SET last_seen_at = ? WHERE id = ?', [lastSeenAt, id]),
    );
  }

  async deleteConsoleSession(id: string): Promise<boolean> {
    const deleted = await this.#db.transaction((tx) =>
      tx.run('DELETE FROM console_sessions WHERE id = ?', [id]),
    );
    return deleted > 0;
  }

  async listOperators(): Promise<OperatorRecord[]> {
    return (await this.#db.all<OperatorRow>('SELECT * FROM operators ORDER BY email')).map(
      toOperator,
    );
  }

  async getOperator(email: string): Promise<OperatorRecord | undefined> {
    const [row] = await this.#db.all<OperatorRow>('SELECT * FROM operators WHERE email = ?', [
      email,
    ]);
    return row && toOperator(row);
  }

  async putOperator(operator: OperatorRecord): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.run('DELETE FROM operators WHERE email = ?', [operator.email]);
      await tx.run('INSERT INTO operators (email, role, created_at) VALUES (?, ?, ?)', [
        operator.email,
        operator.role,
        operator.createdAt,
      ]);
    });
  }

  async removeOperator(email: string): Promise<boolean> {
    const deleted = await this.#db.transaction((tx) =>
      tx.run('DELETE FROM operators WHERE email = ?', [email]),
    );
    return deleted > 0;
  }

  async listTenantOperators(tenant?: string): Promise<TenantOperatorRecord[]> {
    const rows =
      tenant === undefined
        ? await this.#db.all<TenantOperatorRow>(
            'SELECT * FROM tenant_operators ORDER BY tenant, email',
          )
        : await this.#db.all<TenantOperatorRow>(
            'SELECT * FROM tenant_operators WHERE tenant = ? ORDER BY email',
            [tenant],
          );
    return rows.map(toTenantOperator);
  }

  async tenantRolesOf(email: string): Promise<TenantOperatorRecord[]> {
    const rows = await this.#db.all<TenantOperatorRow>(
      'SELECT * FROM tenant_operators WHERE email = ? ORDER BY tenant',
      [email],
    );
    return rows.map(toTenantOperator);
  }

  async putTenantOperator(operator: TenantOperatorRecord): Promise<void> {
    await this.#db.transaction(async (tx) => {
      await tx.run('DELETE FROM tenant_operators WHERE tenant = ? AND email = ?', [
        operator.tenant,
        operator.email,
      ]);
      await tx.run(
        'INSERT INTO tenant_operators (tenant, email, role, created_at) VALUES (?, ?, ?, ?)',
        [operator.tenant, operator.email, operator.role, operator.createdAt],
      );
    });
  }

  async removeTenantOperator(tenant: string, email: string): Promise<boolean> {
    const deleted = await this.#db.transaction((tx) =>
      tx.run('DELETE FROM tenant_operators WHERE tenant = ? AND email = ?', [tenant, email]),
    );
    return deleted > 0;
  }

  async latestChange(): Promise<number> {
    const rows = await this.#db.all<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM changes');
    return rows[0]?.seq ?? 0;
  }

  async changesSince(cursor: number): Promise<{ changes: Change[]; cursor: number }> {
    const rows = await this.#db.all<{
      seq: number | null;
      kind: ChangeKind;
      ref: string;
      tenant: string;
      last: number | null;
    }>(changesSinceSql, [cursor]);
    const changes: Change[] = [];
    for (const row of rows)
      if (row.seq !== null)
        changes.push({ seq: row.seq, kind: row.kind, ref: row.ref, tenant: row.tenant });
    return {
      changes,
      cursor: changes.at(-1)?.seq ?? Math.max(cursor, rows[0]?.last ?? 0),
    };
  }

  async appendEvents(events: readonly NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.#db.transaction(async (tx) => {
      // In change order (PostgreSQL: the change lock), so `events tail` never skips one.
      await this.#db.beforeChange?.(tx);
      await this.#appendEvents(tx, events);
    });
  }

  async latestEventSeq(): Promise<number> {
    const rows = await this.#db.all<{ seq: number | null }>('SELECT MAX(seq) AS seq FROM events');
    return rows[0]?.seq ?? 0;
  }

  async listEvents(afterSeq: number, limit: number): Promise<StoredEvent[]> {
    const rows = await this.#db.all<EventRow>(
      'SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?',
      [afterSeq, limit],
    );
    return rows.map(toEvent);
  }

  async undeliveredEvents(limit: number): Promise<Array<StoredEvent & { nextAttemptAt: number }>> {
    const rows = await this.#db.all<EventRow>(
      'SELECT * FROM events WHERE delivered_at IS NULL AND abandoned = 0 ORDER BY seq LIMIT ?',
      [limit],
    );
    return rows.map(toEvent);
  }

  async markEventDelivered(seq: number, at: number): Promise<void> {
    await this.#db.transaction((tx) =>
      tx.run('UPDATE events SET delivered_at = ?, last_error = NULL WHERE seq = ?', [at, seq]),
    );
  }

  async recordEventFailure(seq: number, failure: EventFailure): Promise<void> {
    await this.#db.transaction((tx) =>
      tx.run(
        'UPDATE events SET attempts = ?, next_attempt_at = ?, last_error = ?, abandoned = ? WHERE seq = ?',
        [failure.attempts, failure.nextAttemptAt, failure.error, failure.abandoned ? 1 : 0, seq],
      ),
    );
  }

  async holdLease(name: string, holder: string, now: number, until: number): Promise<boolean> {
    const taken = await this.#db.transaction((tx) =>
      tx.run(
        `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
           WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
        [name, holder, until, now],
      ),
    );
    return taken > 0;
  }

  watch(onChange: () => void): () => void {
    const watching = this.#watching;
    watching.watchers.add(onChange);
    watching.unwatch ??= this.#db.watch(() => {
      for (const watcher of watching.watchers) watcher();
    });
    return () => {
      watching.watchers.delete(onChange);
      if (watching.watchers.size > 0) return;
      watching.unwatch?.();
      watching.unwatch = undefined;
    };
  }

  hasForeignChanges(): boolean {
    return this.#db.hasForeignChanges();
  }

  /** Appends a change row (its seq is the feed position) in the caller's transaction. */
  async #recordChange(
    tx: SqlExecutor,
    kind: ChangeKind,
    ref: string,
    tenant: string = this.tenant,
  ): Promise<number> {
    await this.#db.beforeChange?.(tx);
    const rows = await tx.all<{ seq: number }>(
      'INSERT INTO changes (kind, ref, at, tenant) VALUES (?, ?, ?, ?) RETURNING seq',
      [kind, ref, nowSeconds(), tenant],
    );
    await this.#db.afterChange?.(tx);
    return rows[0]!.seq;
  }

  /** Writes the audit entries once into each tenant's trail, in the caller's transaction. */
  async #audit(
    tx: SqlExecutor,
    audit: readonly AuditEntry[],
    tenants: readonly string[],
  ): Promise<void> {
    for (const tenant of tenants)
      for (const entry of audit) await tx.run(insertAuditSql, auditParams(entry, tenant));
  }

  /** Appends events to the outbox in the caller's transaction. */
  async #appendEvents(tx: SqlExecutor, events: readonly NewEvent[]): Promise<void> {
    for (const event of events) await tx.run(insertEventSql, eventParams(event, this.tenant));
  }

  /**
   * Runs `fn` and records a change in one transaction, with the audit entries unless `fn`
   * reports that it found nothing to change (returns false).
   */
  #write<T>(
    kind: ChangeKind,
    ref: string,
    fn: (tx: SqlExecutor) => Promise<T> | T,
    audit?: readonly AuditEntry[],
  ): Promise<T> {
    return this.#db.transaction(async (tx) => {
      const result = await fn(tx);
      await this.#recordChange(tx, kind, ref);
      if (result !== false) {
        for (const entry of audit ?? [])
          await tx.run(insertAuditSql, auditParams(entry, this.tenant));
        // The events the change causes commit with it (events/event-types.ts).
        await this.#appendEvents(tx, eventsForAudit(audit ?? []));
      }
      return result;
    });
  }
}

/** The event of a console sign-in: who and with which role, never the session or its CSRF token. */
function signedInEvent(session: ConsoleSessionRecord): NewEvent {
  const data = session.data as {
    person?: { iss?: string; sub?: string; email?: string };
    role?: string;
    tenantRoles?: Record<string, string>;
    acr?: string;
  };
  return {
    type: 'operator.signed_in',
    clientId: null,
    at: session.createdAt * 1000,
    data: {
      iss: data.person?.iss ?? null,
      sub: data.person?.sub ?? null,
      email: data.person?.email ?? null,
      role: data.role ?? null,
      // Issue 21: a person's roles on single tenants, when they have any.
      ...(data.tenantRoles !== undefined ? { tenant_roles: data.tenantRoles } : {}),
      ...(data.acr !== undefined ? { acr: data.acr } : {}),
    },
  };
}

/** Every column of a new client's row; the timestamps default to `now`. */
function insertColumns(client: NewClient, now: number, tenant: string): Array<[string, unknown]> {
  return [
    ['client_id', client.clientId],
    ['tenant', tenant],
    ...clientAssignments({
      ...client,
      authConfig: client.authConfig ?? {},
      claims: client.claims ?? {},
    }),
    ['created_at', client.createdAt ?? now],
    ['updated_at', client.updatedAt ?? now],
  ];
}

/** `updateKeySql`'s parameters: the patch over the key as read in the same transaction. */
function patchedKey(current: KeyRecord, patch: KeyPatch): unknown[] {
  return [
    patch.state ?? current.state,
    patch.activatesAt !== undefined ? patch.activatesAt : current.activatesAt,
    patch.retiresAt !== undefined ? patch.retiresAt : current.retiresAt,
    current.kid,
  ];
}
