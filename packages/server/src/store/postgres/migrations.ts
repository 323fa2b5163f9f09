/**
 * Versioned PostgreSQL schema; each entry runs once, in order, inside the migration
 * transaction that holds the migration advisory lock. Timestamps are epoch seconds (bigint),
 * lists are jsonb arrays; `public_jwk` stays text so every instance serves the JWKS bytes
 * exactly as they were generated.
 */
export const postgresMigrations: ReadonlyArray<{ version: number; name: string; sql: string }> = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
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
];
