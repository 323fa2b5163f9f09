import type {
  AuditEntry,
  ConsoleSessionRecord,
  OperatorRecord,
  TenantOperatorRecord,
  ClientRecord,
  KeyRecord,
  NewClient,
  SecretRecord,
  SequencedRevocation,
  TenantPatch,
  TenantRecord,
  TenantSettings,
} from './contract.js';
import type { SigningAlgorithm } from '@tessera/protocol';
import { eventId, type EventType, type NewEvent, type StoredEvent } from '../events/event-types.js';

/**
 * Table rows exactly as both drivers return them: JSON columns as text (the PostgreSQL driver
 * leaves jsonb unparsed), timestamps and sequence numbers as numbers. One mapping per table,
 * both ways: `*Columns` and `*Params` write a record, `to*` reads one.
 */
export interface ClientRow {
  client_id: string;
  name: string;
  status: ClientRecord['status'];
  scopes: string;
  audiences: string;
  token_ttl: number | null;
  auth_method: ClientRecord['authMethod'];
  auth_config: string;
  /** Issue 25: 'fapi2' or null. */
  profile: 'fapi2' | null;
  grant_types: string;
  claims: string;
  created_at: number;
  updated_at: number;
  /** Issue 22: `10/s,5000/d` or null (the server default). */
  token_quota: string | null;
  /** Issue 22: 1 = answer a still-fresh token again; 0 = the server default. */
  reuse_tokens: number;
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
  /** 'sealed' (the private key is `encrypted_private_key`) or 'pkcs11'. */
  key_store: string;
  /** JSON `{tokenLabel, keyLabel}` for a PKCS#11 key; null for a sealed one. */
  key_handle: string | null;
}

export interface AuditRow {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  details: string;
  actor_issuer: string | null;
  actor_subject: string | null;
  actor_email: string | null;
  source_address: string | null;
  request_id: string | null;
}

/** A revocation joined with its newest change sequence number (the feed's cursor). */
export interface RevocationRow {
  jti: string;
  client_id: string;
  expires_at: number;
  revoked_at: number;
  seq: number;
}

type Patchable = Omit<NewClient, 'clientId' | 'secrets' | 'createdAt' | 'updatedAt'>;

/** Each client field that a patch may set, with its column and how it is stored. */
const clientColumns: {
  [F in keyof Patchable]-?: [column: string, encode?: (v: never) => unknown];
} = {
  name: ['name'],
  status: ['status'],
  scopes: ['scopes', JSON.stringify],
  audiences: ['audiences', JSON.stringify],
  tokenTtl: ['token_ttl'],
  authMethod: ['auth_method'],
  authConfig: ['auth_config', JSON.stringify],
  profile: ['profile'],
  grantTypes: ['grant_types', JSON.stringify],
  claims: ['claims', JSON.stringify],
  tokenQuota: ['token_quota'],
  reuseTokens: ['reuse_tokens', (value: boolean) => (value ? 1 : 0)],
};
const clientFields = Object.keys(clientColumns) as Array<keyof Patchable>;

/** The columns and values a (partial) client sets; undefined fields are left out. */
export function clientAssignments(client: Partial<Patchable>): Array<[string, unknown]> {
  const assignments: Array<[string, unknown]> = [];
  for (const field of clientFields) {
    const value = client[field];
    if (value === undefined) continue;
    const [column, encode] = clientColumns[field];
    assignments.push([column, encode ? encode(value as never) : value]);
  }
  return assignments;
}

export function toClient(row: ClientRow, secrets: readonly SecretRow[]): ClientRecord {
  return {
    clientId: row.client_id,
    name: row.name,
    status: row.status,
    scopes: JSON.parse(row.scopes) as string[],
    audiences: JSON.parse(row.audiences) as string[],
    tokenTtl: row.token_ttl,
    authMethod: row.auth_method,
    authConfig: JSON.parse(row.auth_config) as ClientRecord['authConfig'],
    ...(row.profile ? { profile: row.profile } : {}),
    grantTypes: JSON.parse(row.grant_types) as string[],
    claims: JSON.parse(row.claims) as ClientRecord['claims'],
    tokenQuota: row.token_quota ?? null,
    reuseTokens: Number(row.reuse_tokens ?? 0) === 1,
    secrets: secrets.map(toSecret),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export const insertSecretSql =
  'INSERT INTO client_secrets (id, client_id, hash, created_at, expires_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?)';

export function secretParams(clientId: string, secret: SecretRecord): unknown[] {
  return [secret.id, clientId, secret.hash, secret.createdAt, secret.expiresAt, secret.lastUsedAt];
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

export const insertKeySql = `INSERT INTO signing_keys (kid, alg, state, public_jwk, encrypted_private_key, created_at, activates_at, retires_at, key_store, key_handle, tenant)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export function keyParams(key: KeyRecord, tenant: string): unknown[] {
  return [
    key.kid,
    key.alg,
    key.state,
    JSON.stringify(key.publicJwk),
    key.encryptedPrivateKey,
    key.createdAt,
    key.activatesAt,
    key.retiresAt,
    key.keyHandle?.store ?? 'sealed',
    key.keyHandle
      ? JSON.stringify({ tokenLabel: key.keyHandle.tokenLabel, keyLabel: key.keyHandle.keyLabel })
      : null,
    tenant,
  ];
}

export function toKey(row: KeyRow): KeyRecord {
  const key: KeyRecord = {
    kid: row.kid,
    alg: row.alg,
    state: row.state,
    publicJwk: JSON.parse(row.public_jwk) as JsonWebKey,
    encryptedPrivateKey: row.encrypted_private_key,
    createdAt: row.created_at,
    activatesAt: row.activates_at,
    retiresAt: row.retires_at,
  };
  if (row.key_store === 'pkcs11') {
    const handle = JSON.parse(row.key_handle ?? '{}') as { tokenLabel: string; keyLabel: string };
    key.keyHandle = { store: 'pkcs11', tokenLabel: handle.tokenLabel, keyLabel: handle.keyLabel };
  }
  return key;
}

export const insertAuditSql = `INSERT INTO audit_log
  (at, actor, action, target, details, actor_issuer, actor_subject, actor_email, source_address, request_id, tenant)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export function auditParams(entry: AuditEntry, tenant: string): unknown[] {
  return [
    entry.at,
    entry.actor,
    entry.action,
    entry.target,
    JSON.stringify(entry.details),
    entry.person?.iss ?? null,
    entry.person?.sub ?? null,
    entry.person?.email ?? null,
    entry.sourceAddress ?? null,
    entry.requestId ?? null,
    tenant,
  ];
}

export function toAudit(row: AuditRow): AuditEntry {
  return {
    id: row.id,
    at: row.at,
    actor: row.actor,
    action: row.action,
    target: row.target,
    details: JSON.parse(row.details) as AuditEntry['details'],
    // Only what was recorded: entries from before issue 20 (and CLI entries) have none.
    ...(row.actor_issuer !== null && row.actor_subject !== null
      ? {
          person: {
            iss: row.actor_issuer,
            sub: row.actor_subject,
            ...(row.actor_email === null ? {} : { email: row.actor_email }),
          },
        }
      : {}),
    ...(row.source_address === null ? {} : { sourceAddress: row.source_address }),
    ...(row.request_id === null ? {} : { requestId: row.request_id }),
  };
}

export interface ConsoleSessionRow {
  id: string;
  kind: ConsoleSessionRecord['kind'];
  data: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

export function toConsoleSession(row: ConsoleSessionRow): ConsoleSessionRecord {
  return {
    id: row.id,
    kind: row.kind,
    data: JSON.parse(row.data) as ConsoleSessionRecord['data'],
    createdAt: Number(row.created_at),
    lastSeenAt: Number(row.last_seen_at),
    expiresAt: Number(row.expires_at),
  };
}

export interface OperatorRow {
  email: string;
  role: string;
  created_at: number;
}

export const toOperator = (row: OperatorRow): OperatorRecord => ({
  email: row.email,
  role: row.role,
  createdAt: Number(row.created_at),
});

export interface TenantOperatorRow extends OperatorRow {
  tenant: string;
}

export const toTenantOperator = (row: TenantOperatorRow): TenantOperatorRecord => ({
  tenant: row.tenant,
  ...toOperator(row),
});

export function toRevocation(row: RevocationRow): SequencedRevocation {
  return {
    jti: row.jti,
    clientId: row.client_id,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    seq: row.seq,
  };
}

export interface EventRow {
  seq: number;
  type: EventType;
  tenant: string;
  client_id: string | null;
  data: string;
  at: number;
  attempts: number;
  next_attempt_at: number;
  delivered_at: number | null;
}

export const insertEventSql =
  'INSERT INTO events (type, client_id, data, at, tenant) VALUES (?, ?, ?, ?, ?)';

export function eventParams(event: NewEvent, tenant: string): unknown[] {
  return [event.type, event.clientId, JSON.stringify(event.data), event.at, tenant];
}

export function toEvent(row: EventRow): StoredEvent & { nextAttemptAt: number } {
  return {
    seq: row.seq,
    id: eventId(row.seq),
    type: row.type,
    tenant: row.tenant,
    clientId: row.client_id,
    data: JSON.parse(row.data) as Record<string, unknown>,
    at: row.at,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    deliveredAt: row.delivered_at,
  };
}

export interface TenantRow {
  name: string;
  issuer: string | null;
  preset: string | null;
  token_ttl: number | null;
  signing_alg: SigningAlgorithm | null;
  default_audience: string | null;
  /** JSON text. */
  settings: string;
  created_at: number;
  updated_at: number;
}

export function toTenant(row: TenantRow): TenantRecord {
  return {
    name: row.name,
    issuer: row.issuer,
    preset: row.preset,
    tokenTtl: row.token_ttl === null ? null : Number(row.token_ttl),
    signingAlg: row.signing_alg,
    defaultAudience: row.default_audience,
    settings: JSON.parse(row.settings) as TenantSettings,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** The columns a tenant patch sets (the record's fields, encoded). */
export function tenantAssignments(patch: TenantPatch): Array<[string, unknown]> {
  const columns: Array<[string, unknown]> = [];
  if (patch.issuer !== undefined) columns.push(['issuer', patch.issuer]);
  if (patch.preset !== undefined) columns.push(['preset', patch.preset]);
  if (patch.tokenTtl !== undefined) columns.push(['token_ttl', patch.tokenTtl]);
  if (patch.signingAlg !== undefined) columns.push(['signing_alg', patch.signingAlg]);
  if (patch.defaultAudience !== undefined)
    columns.push(['default_audience', patch.defaultAudience]);
  if (patch.settings !== undefined) columns.push(['settings', JSON.stringify(patch.settings)]);
  return columns;
}
