/** Versioned schema; each entry runs once, in order, inside one write transaction. */
export const sqliteMigrations: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
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
  },
  {
    version: 2,
    name: 'client auth_config (private_key_jwt, mTLS, DPoP settings)',
    sql: `ALTER TABLE clients ADD COLUMN auth_config TEXT NOT NULL DEFAULT '{}';`,
  },
];
