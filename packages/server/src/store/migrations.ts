import type { Dialect, SqlDriver } from './sql-driver.js';

/**
 * SQL that is the same in both dialects is one string; where they really differ (column
 * types: jsonb vs JSON text, identity vs AUTOINCREMENT), one string per dialect, or null
 * where a dialect has nothing to do.
 * Prefer types both accept: `text`, `bigint` (epoch seconds), `integer`. A JSON column is
 * `jsonb` in PostgreSQL and `TEXT` in SQLite (never `jsonb` there: that name gets numeric
 * affinity), so it needs the per-dialect form.
 */
export type MigrationSql = string | Readonly<Record<Dialect, string | null>>;

export interface Migration {
  /** Stored in `schema_migrations`: never renumber or reuse one. */
  version: number;
  name: string;
  sql: MigrationSql;
}

export function migrationSql(migration: Migration, dialect: Dialect): string | null {
  return typeof migration.sql === 'string' ? migration.sql : migration.sql[dialect];
}

/**
 * The versioned schema of both dialects; each entry runs once, in order, inside the migration
 * transaction (SQLite: IMMEDIATE; PostgreSQL: under the migration advisory lock). Timestamps
 * are epoch seconds, lists are JSON arrays; `public_jwk` stays text so every instance serves
 * the JWKS bytes exactly as they were generated.
 */
/**
 * Migration 11's statements after `CREATE TABLE tenants`, the same in both dialects (a column
 * type is case-insensitive in each): every existing row joins the implicit `default` tenant.
 */
const tenantColumns = `
      ALTER TABLE clients ADD COLUMN tenant text NOT NULL DEFAULT 'default';
      ALTER TABLE signing_keys ADD COLUMN tenant text NOT NULL DEFAULT 'default';
      ALTER TABLE revocations ADD COLUMN tenant text NOT NULL DEFAULT 'default';
      ALTER TABLE audit_log ADD COLUMN tenant text NOT NULL DEFAULT 'default';
      ALTER TABLE changes ADD COLUMN tenant text NOT NULL DEFAULT 'default';
      DROP INDEX clients_created;
      CREATE INDEX clients_created ON clients (tenant, created_at, client_id);
      CREATE INDEX signing_keys_tenant ON signing_keys (tenant);
      CREATE INDEX audit_log_tenant ON audit_log (tenant, id);`;

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: {
      sqlite: `
      CREATE TABLE clients (
        client_id   TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        status      TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
        scopes      TEXT NOT NULL,
        audiences   TEXT NOT NULL,
        token_ttl   INTEGER,
        auth_method TEXT NOT NULL,
        grant_types TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      );
      CREATE TABLE client_secrets (
        id           TEXT PRIMARY KEY,
        client_id    TEXT NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
        hash         TEXT NOT NULL,
        created_at   INTEGER NOT NULL,
        expires_at   INTEGER,
        last_used_at INTEGER
      );
      CREATE INDEX client_secrets_client ON client_secrets (client_id);
      CREATE TABLE signing_keys (
        kid                   TEXT PRIMARY KEY,
        alg                   TEXT NOT NULL,
        state                 TEXT NOT NULL,
        public_jwk            TEXT NOT NULL,
        encrypted_private_key TEXT NOT NULL,
        created_at            INTEGER NOT NULL,
        activates_at          INTEGER,
        retires_at            INTEGER
      );
      CREATE TABLE settings (
        name  TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
      CREATE TABLE revocations (
        jti        TEXT PRIMARY KEY,
        client_id  TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        revoked_at INTEGER NOT NULL
      );
      CREATE INDEX revocations_expires ON revocations (expires_at);
      CREATE TABLE audit_log (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        at      INTEGER NOT NULL,
        actor   TEXT NOT NULL,
        action  TEXT NOT NULL,
        target  TEXT,
        details TEXT NOT NULL
      );
      CREATE TABLE changes (
        seq  INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        ref  TEXT NOT NULL,
        at   INTEGER NOT NULL
      );
      CREATE INDEX changes_kind_ref ON changes (kind, ref);
    `,
      postgres: `
      CREATE TABLE clients (
        client_id   text PRIMARY KEY,
        name        text NOT NULL,
        status      text NOT NULL CHECK (status IN ('active', 'disabled')),
        scopes      jsonb NOT NULL,
        audiences   jsonb NOT NULL,
        token_ttl   integer,
        auth_method text NOT NULL,
        auth_config jsonb NOT NULL DEFAULT '{}',
        grant_types jsonb NOT NULL,
        created_at  bigint NOT NULL,
        updated_at  bigint NOT NULL
      );
      CREATE TABLE client_secrets (
        id           text PRIMARY KEY,
        client_id    text NOT NULL REFERENCES clients (client_id) ON DELETE CASCADE,
        hash         text NOT NULL,
        created_at   bigint NOT NULL,
        expires_at   bigint,
        last_used_at bigint,
        position     bigint GENERATED ALWAYS AS IDENTITY
      );
      CREATE INDEX client_secrets_client ON client_secrets (client_id);
      CREATE TABLE signing_keys (
        kid                   text PRIMARY KEY,
        alg                   text NOT NULL,
        state                 text NOT NULL,
        public_jwk            text NOT NULL,
        encrypted_private_key text NOT NULL,
        created_at            bigint NOT NULL,
        activates_at          bigint,
        retires_at            bigint
      );
      CREATE TABLE settings (
        name  text PRIMARY KEY,
        value text NOT NULL
      );
      CREATE TABLE revocations (
        jti        text PRIMARY KEY,
        client_id  text NOT NULL,
        expires_at bigint NOT NULL,
        revoked_at bigint NOT NULL
      );
      CREATE INDEX revocations_expires ON revocations (expires_at);
      CREATE TABLE audit_log (
        id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at      bigint NOT NULL,
        actor   text NOT NULL,
        action  text NOT NULL,
        target  text,
        details jsonb NOT NULL
      );
      CREATE TABLE changes (
        seq  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        kind text NOT NULL,
        ref  text NOT NULL,
        at   bigint NOT NULL
      );
      CREATE INDEX changes_kind_ref ON changes (kind, ref);
      CREATE INDEX changes_at ON changes (at);
    `,
    },
  },
  {
    version: 2,
    name: 'client auth_config (private_key_jwt, mTLS, DPoP settings)',
    sql: {
      sqlite: `ALTER TABLE clients ADD COLUMN auth_config TEXT NOT NULL DEFAULT '{}';`,
      // PostgreSQL's version 1 has the column already: nothing to run, only recorded.
      postgres: null,
    },
  },
  {
    version: 3,
    name: 'signing key location (sealed or a PKCS#11 token object)',
    sql: `
      ALTER TABLE signing_keys ADD COLUMN key_store text NOT NULL DEFAULT 'sealed'
        CHECK (key_store IN ('sealed', 'pkcs11'));
      ALTER TABLE signing_keys ADD COLUMN key_handle text;
    `,
  },
  {
    version: 4,
    // Issue 16: failure counters and one-time jtis shared by every instance on one
    // PostgreSQL (shared-state/postgres-state.ts). UNLOGGED: cheap writes, emptied after a
    // crash. SQLite keeps this state in the serving machine's memory: nothing to create.
    name: 'shared state: one-time keys and window counters',
    sql: {
      sqlite: null,
      postgres: `
      CREATE UNLOGGED TABLE shared_once (
        key        text PRIMARY KEY,
        expires_at bigint NOT NULL
      );
      CREATE INDEX shared_once_expires ON shared_once (expires_at);
      CREATE UNLOGGED TABLE shared_counters (
        key          text NOT NULL,
        window_start bigint NOT NULL,
        count        bigint NOT NULL,
        expires_at   bigint NOT NULL,
        PRIMARY KEY (key, window_start)
      );
      CREATE INDEX shared_counters_expires ON shared_counters (expires_at);
    `,
    },
  },
  // Issue 19: per-client claims, a JSON object added to every token of the client.
  {
    version: 5,
    name: 'client claims (extra token claims)',
    sql: {
      sqlite: `ALTER TABLE clients ADD COLUMN claims TEXT NOT NULL DEFAULT '{}';`,
      postgres: `ALTER TABLE clients ADD COLUMN claims jsonb NOT NULL DEFAULT '{}';`,
    },
  },
  // --- issue 20: people (console sign-in, operators, per-person audit) ---------------------
  {
    version: 6,
    name: 'console sessions, operators, and who did it in the audit log',
    sql: `
      CREATE TABLE console_sessions (
        id           text PRIMARY KEY,
        kind         text NOT NULL,
        data         text NOT NULL,
        created_at   bigint NOT NULL,
        last_seen_at bigint NOT NULL,
        expires_at   bigint NOT NULL
      );
      CREATE INDEX console_sessions_expires ON console_sessions (expires_at);
      CREATE TABLE operators (
        email      text PRIMARY KEY,
        role       text NOT NULL,
        created_at bigint NOT NULL
      );
      ALTER TABLE audit_log ADD COLUMN actor_issuer text;
      ALTER TABLE audit_log ADD COLUMN actor_subject text;
      ALTER TABLE audit_log ADD COLUMN actor_email text;
      ALTER TABLE audit_log ADD COLUMN source_address text;
      ALTER TABLE audit_log ADD COLUMN request_id text;
    `,
  },
  {
    version: 7,
    name: 'events outbox and leases',
    // `at` and the delivery times are epoch milliseconds (an event's `time` has them).
    sql: {
      sqlite: `
      CREATE TABLE events (
        seq             INTEGER PRIMARY KEY AUTOINCREMENT,
        type            TEXT NOT NULL,
        tenant          TEXT NOT NULL DEFAULT 'default',
        client_id       TEXT,
        data            TEXT NOT NULL,
        at              INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL DEFAULT 0,
        delivered_at    INTEGER,
        abandoned       INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT
      );
      CREATE INDEX events_undelivered ON events (seq) WHERE delivered_at IS NULL AND abandoned = 0;
      CREATE INDEX events_at ON events (at);
      CREATE TABLE leases (
        name       TEXT PRIMARY KEY,
        holder     TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );`,
      postgres: `
      CREATE TABLE events (
        seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        type            text NOT NULL,
        tenant          text NOT NULL DEFAULT 'default',
        client_id       text,
        data            jsonb NOT NULL,
        at              bigint NOT NULL,
        attempts        integer NOT NULL DEFAULT 0,
        next_attempt_at bigint NOT NULL DEFAULT 0,
        delivered_at    bigint,
        abandoned       integer NOT NULL DEFAULT 0,
        last_error      text
      );
      CREATE INDEX events_undelivered ON events (seq) WHERE delivered_at IS NULL AND abandoned = 0;
      CREATE INDEX events_at ON events (at);
      CREATE TABLE leases (
        name       text PRIMARY KEY,
        holder     text NOT NULL,
        expires_at bigint NOT NULL
      );`,
    },
  },
  // Issue 24 (a million clients): keyset pagination and prefix search of the client list.
  {
    version: 8,
    name: 'client list indexes: creation order, name and client_id prefixes',
    sql: {
      sqlite: `
      CREATE INDEX clients_created ON clients (created_at, client_id);
      CREATE INDEX clients_name_prefix ON clients (lower(name));`,
      // Byte order (COLLATE "C") for the prefix ranges whatever the database's collation;
      // the primary key's index keeps serving equality lookups.
      postgres: `
      CREATE INDEX clients_created ON clients (created_at, client_id);
      CREATE INDEX clients_name_prefix ON clients ((lower(name) COLLATE "C"));
      CREATE INDEX clients_id_prefix ON clients ((client_id COLLATE "C"));`,
    },
  },
  // Issue 22 (token quotas and reuse).
  {
    version: 9,
    name: 'client token quota and token reuse',
    sql: `
      ALTER TABLE clients ADD COLUMN token_quota text;
      ALTER TABLE clients ADD COLUMN reuse_tokens integer NOT NULL DEFAULT 0;
    `,
  },
  // Issue 25: per-client security profile.
  {
    version: 10,
    name: 'client security profile (fapi2)',
    sql: `ALTER TABLE clients ADD COLUMN profile text CHECK (profile IN ('fapi2'));`,
  },
  // Issue 21: tenants. Every existing row belongs to the implicit `default` tenant (which has
  // no row: it is the server's own configuration). client_id and kid stay globally unique
  // (their primary keys are untouched, no table rebuild); the tenant column scopes reads.
  {
    version: 11,
    name: 'tenants',
    sql: {
      sqlite:
        `
      CREATE TABLE tenants (
        name             TEXT PRIMARY KEY,
        issuer           TEXT,
        preset           TEXT,
        token_ttl        INTEGER,
        signing_alg      TEXT,
        default_audience TEXT,
        settings         TEXT NOT NULL DEFAULT '{}',
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL
      );` + tenantColumns,
      postgres:
        `
      CREATE TABLE tenants (
        name             text PRIMARY KEY,
        issuer           text,
        preset           text,
        token_ttl        integer,
        signing_alg      text,
        default_audience text,
        settings         jsonb NOT NULL DEFAULT '{}',
        created_at       bigint NOT NULL,
        updated_at       bigint NOT NULL
      );` + tenantColumns,
    },
  },
  // Issue 21: console roles on one tenant (`tessera operators add EMAIL --tenant NAME`),
  // besides the deployment-wide ones of `operators`. Looked up by email at every console
  // request, hence the index; a tenant's deletion deletes its rows.
  {
    version: 12,
    name: 'tenant operators',
    sql: `
      CREATE TABLE tenant_operators (
        tenant     text NOT NULL,
        email      text NOT NULL,
        role       text NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (tenant, email)
      );
      CREATE INDEX tenant_operators_email ON tenant_operators (email);
    `,
  },
];

/**
 * Applies the migrations `driver`'s database has not recorded yet, in one transaction under
 * the migration lock, so processes starting together apply each one once.
 */
export function applyMigrations(driver: SqlDriver): Promise<void> {
  return driver.transaction(async (tx) => {
    await tx.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
    );
    const applied = new Set(
      (await tx.all<{ version: number }>('SELECT version FROM schema_migrations')).map(
        (row) => row.version,
      ),
    );
    for (const migration of migrations) {
      if (applied.has(migration.version)) continue;
      const sql = migrationSql(migration, driver.dialect);
      if (sql !== null) await tx.exec(sql);
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        Math.floor(Date.now() / 1000),
      ]);
    }
  }, 'migrations');
}
