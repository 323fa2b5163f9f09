import type {
  AuditEntry,
  ClientRecord,
  KeyRecord,
  SecretRecord,
  SequencedRevocation,
} from './contract.js';

/**
 * Table rows as both adapters read them, after decoding (node-postgres parses jsonb itself;
 * the SQLite adapter parses its JSON text columns first), and their mapping to records.
 */
export interface ClientRow {
  client_id: string;
  name: string;
  status: ClientRecord['status'];
  scopes: string[];
  audiences: string[];
  token_ttl: number | null;
  auth_method: ClientRecord['authMethod'];
  auth_config: ClientRecord['authConfig'];
  grant_types: string[];
  created_at: number;
  updated_at: number;
}

export interface SecretRow {
  id: string;
  client_id: string;
  hash: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
}

export interface KeyRow {
  kid: string;
  alg: KeyRecord['alg'];
  state: KeyRecord['state'];
  public_jwk: string;
  encrypted_private_key: string;
  created_at: number;
  activates_at: number | null;
  retires_at: number | null;
}

export interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
}

export function toClient(row: ClientRow, secrets: readonly SecretRow[]): ClientRecord {
  return {
    clientId: row.client_id,
    name: row.name,
    status: row.status,
    scopes: row.scopes,
    audiences: row.audiences,
    tokenTtl: row.token_ttl,
    authMethod: row.auth_method,
    authConfig: row.auth_config,
    grantTypes: row.grant_types,
    secrets: secrets.map(toSecret),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toSecret(row: SecretRow): SecretRecord {
  return {
    id: row.id,
    hash: row.hash,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
  };
}

export function toKey(row: KeyRow): KeyRecord {
  return {
    kid: row.kid,
    alg: row.alg,
    state: row.state,
    publicJwk: JSON.parse(row.public_jwk) as JsonWebKey,
    encryptedPrivateKey: row.encrypted_private_key,
    createdAt: row.created_at,
    activatesAt: row.activates_at,
    retiresAt: row.retires_at,
  };
}

export function toAudit(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: row.details,
  };
}

/** A revocation joined with its newest change sequence number (the feed's cursor). */
export interface RevocationRow {
  jti: string;
  client_id: string;
  expires_at: number;
  revoked_at: number;
  seq: number;
}

export function toRevocation(row: RevocationRow): SequencedRevocation {
  return {
    jti: row.jti,
    clientId: row.client_id,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    seq: row.seq,
  };
}
