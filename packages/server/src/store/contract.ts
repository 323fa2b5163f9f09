import type { NewEvent, StoredEvent } from '../events/event-types.js';
import type { SigningAlgorithm } from '@tessera/protocol';

/** How a client must authenticate at the token endpoint; `any` accepts either secret method. */
export type RegisteredAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'any'
  | 'private_key_jwt'
  | 'tls_client_auth'
  | 'self_signed_tls_client_auth'
  // Issue 25: a workload's own JWT from a trusted external issuer (no stored secret).
  | 'federated';
export const registeredAuthMethods: readonly RegisteredAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'any',
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
  'federated',
];

/**
 * Per-client settings of the secret-less methods and sender constraints, stored as one JSON
 * document (column `auth_config`). Every member is optional; `{}` for secret clients.
 */
export interface ClientAuthConfig {
  /** RFC 7523 `private_key_jwt` / RFC 8705 §2.2 self-signed: the client's public keys (RFC 7591 `jwks`). */
  jwks?: { keys: JsonWebKey[] };
  /** RFC 7591 `jwks_uri`: where the client publishes its public keys (private_key_jwt). */
  jwksUri?: string;
  /** RFC 8705 §2.1.2 `tls_client_auth_subject_dn`, RFC 4514 string. */
  tlsSubjectDn?: string;
  /** RFC 8705 §2.1.2 `tls_client_auth_san_dns`. */
  tlsSanDns?: string;
  /** RFC 9449 §5.2 `dpop_bound_access_tokens`: token requests without a DPoP proof are refused. */
  dpopBound?: boolean;
  // Issue 25: secretless (federated) clients.
  /** The external issuer whose JWTs authenticate the client (`iss`, matched exactly). */
  federatedIssuer?: string;
  /** The workload's `sub` (e.g. `system:serviceaccount:NS:NAME`, `spiffe://…`), exact. */
  federatedSubject?: string;
  /** The `aud` the workload's JWT must carry; default Tessera's issuer. */
  federatedAudience?: string;
  /** The issuer's JWKS, when it is not found through its OpenID discovery document. */
  federatedJwksUri?: string;
}

/** A client's extra token claims (issue 19): any JSON values, nested objects allowed. */
export type ClientClaims = Record<string, unknown>;

export type ClientStatus = 'active' | 'disabled';

/** Security profiles a client (or the whole server, `--profile`) can be held to. */
export type ClientProfile = 'fapi2';

export interface SecretRecord {
  id: string;
  /** `hmac-sha256$v1$…`: never the secret itself. */
  hash: string;
  createdAt: number;
  /** Epoch seconds after which the secret no longer authenticates; null = no expiry. */
  expiresAt: number | null;
  lastUsedAt: number | null;
}

export interface ClientRecord {
  clientId: string;
  name: string;
  status: ClientStatus;
  /** Scopes the client may request; also its default when it requests none. */
  scopes: string[];
  /** Audiences (RFC 8707 resources) the client may request; the first is its default. */
  audiences: string[];
  /** Access token lifetime in seconds; null = the server default. */
  tokenTtl: number | null;
  authMethod: RegisteredAuthMethod;
  /** Settings of `authMethod` (keys, certificate subject) and sender constraints; `{}` when none. */
  authConfig: ClientAuthConfig;
  /**
   * Issue 25: the security profile the client is held to (FAPI 2.0); absent for none (a
   * patch sets null to release the client).
   */
  profile?: ClientProfile | null;
  grantTypes: string[];
  /**
   * Extra claims put into every access token of the client (and its introspection answer):
   * a JSON object without the names Tessera owns; `{}` when none.
   */
  claims: ClientClaims;
  /** Issue 22: tokens allowed per window (`10/s,5000/d`, quotas/token-quota.ts); null = the server default. */
  tokenQuota: string | null;
  /** Issue 22: answer a still-fresh token again instead of signing a new one (or the server's `--reuse-tokens`). */
  reuseTokens: boolean;
  secrets: SecretRecord[];
  createdAt: number;
  updatedAt: number;
}

export interface SecretChange {
  add?: SecretRecord[];
  expire?: Array<{ id: string; expiresAt: number | null }>;
  remove?: string[];
}

/**
 * A client to create; the timestamps default to now (a store copy passes the originals), the
 * claims to none, the quota to the server default, reuse to off.
 */
export type NewClient = Omit<
  ClientRecord,
  'createdAt' | 'updatedAt' | 'claims' | 'tokenQuota' | 'reuseTokens'
> &
  Partial<Pick<ClientRecord, 'createdAt' | 'updatedAt' | 'claims' | 'tokenQuota' | 'reuseTokens'>>;
export type ClientPatch = Partial<
  Pick<
    ClientRecord,
    | 'name'
    | 'status'
    | 'scopes'
    | 'audiences'
    | 'tokenTtl'
    | 'authMethod'
    | 'authConfig'
    | 'profile'
    | 'grantTypes'
    | 'claims'
    | 'tokenQuota'
    | 'reuseTokens'
  >
>;

/** Key lifecycle (ARCHITECTURE.md): published → active → retiring → retired. */
export type KeyState = 'published' | 'active' | 'retiring' | 'retired';

/** A private key held outside the store (column `key_store`, and `key_handle` as JSON). */
export interface KeyHandle {
  store: 'pkcs11';
  /** The token's label (CKA_LABEL of the token, matched exactly). */
  tokenLabel: string;
  /** The key object's CKA_LABEL inside the token. */
  keyLabel: string;
}

export interface KeyRecord {
  kid: string;
  alg: SigningAlgorithm;
  state: KeyState;
  publicJwk: JsonWebKey;
  /** PKCS#8 DER private key sealed under the key-encryption key; empty when `keyHandle` is set. */
  encryptedPrivateKey: string;
  /** Where the private key lives when it is not sealed in this row: a PKCS#11 token object. */
  keyHandle?: KeyHandle;
  createdAt: number;
  /** When a published key starts signing (epoch seconds). */
  activatesAt: number | null;
  /** When a retiring key leaves the JWKS (epoch seconds). */
  retiresAt: number | null;
}

export interface RevocationRecord {
  jti: string;
  clientId: string;
  /** The token's own `exp`: the record can be pruned after it. */
  expiresAt: number;
  revokedAt: number;
}

/** A revocation with its change-feed position, which revocation-feed cursors count in. */
export interface SequencedRevocation extends RevocationRecord {
  seq: number;
}

export type KeyPatch = { kid: string } & Partial<
  Pick<KeyRecord, 'state' | 'activatesAt' | 'retiresAt'>
>;

/** A failed delivery attempt: when to try again, or that it is given up. */
export interface EventFailure {
  attempts: number;
  /** Epoch milliseconds. */
  nextAttemptAt: number;
  error: string;
  abandoned: boolean;
}

export interface AuditEntry {
  id?: number;
  at: number;
  /** `cli:<user>`, `admin-api:<client_id>` or `person:<email or sub>`. */
  actor: string;
  action: string;
  target: string | null;
  details: Record<string, unknown>;
  /** The person behind `actor` (the ID token's `iss`, `sub`, `email`), when a person acted. */
  person?: AuditPerson | null;
  /** The caller's address and the request id of the admin API request, when there was one. */
  sourceAddress?: string | null;
  requestId?: string | null;
}

/** A person as the audit log records one: the ID token's issuer, subject and email. */
export interface AuditPerson {
  iss: string;
  sub: string;
  email?: string | undefined;
}

/**
 * A console session or a sign-in in progress, server-side. `id` is a SHA-256 of the opaque
 * value in the browser's cookie, so the stored rows cannot be replayed as cookies.
 */
export interface ConsoleSessionRecord {
  id: string;
  kind: 'sign-in' | 'session';
  data: Record<string, unknown>;
  createdAt: number;
  lastSeenAt: number;
  /** The absolute end (epoch seconds): the maximum lifetime; idle expiry uses lastSeenAt. */
  expiresAt: number;
}

/** A person given a console role in Tessera itself (`tessera operators add`). */
export interface OperatorRecord {
  email: string;
  role: string;
  createdAt: number;
}

/** A person given a console role on one tenant only (`tessera operators add --tenant`). */
export interface TenantOperatorRecord extends OperatorRecord {
  tenant: string;
}

/** A page of `Store.listClientPage` (issue 24: a million clients, keyset pagination). */
export interface ClientPageQuery {
  /** Most clients returned (the store does not cap it; the admin API does). */
  limit: number;
  /** Where the previous page ended: its last client's `createdAt` and `clientId`. */
  after?: { createdAt: number; clientId: string } | undefined;
  /**
   * Only clients whose `client_id` starts with `q` (exactly) or whose name starts with `q`
   * (case-insensitive): prefixes, so that both are index range scans.
   */
  q?: string | undefined;
}

export interface ClientPage {
  /** In creation order (then `client_id`), as `listClients`. */
  clients: ClientRecord[];
  /** Whether clients follow the last one returned. */
  more: boolean;
}

export type ChangeKind = 'client' | 'key' | 'revocation' | 'setting' | 'tenant';

export interface Change {
  seq: number;
  kind: ChangeKind;
  ref: string;
  /** The tenant whose row changed (`default` for settings and every pre-tenant change). */
  tenant: string;
}

/**
 * Issue 21: a tenant's further settings beside its columns, one JSON document (`{}` when
 * none), read through tenants/tenant-settings.ts. An absent member takes the server's.
 */
export interface TenantSettings {
  /** Its own brute-force limits (`--auth-max-failures-per-client` …); absent ones: the server's. */
  authFailureLimits?: {
    perClient?: number;
    perAddress?: number;
    windowSeconds?: number;
    lockSeconds?: number;
  };
  /**
   * Its own token hook, signed with a key derived for the tenant (tenants/tenant-settings.ts
   * `tenantHookSecret`), or `none`: no hook at this tenant even when the server has one.
   * Absent: the server's `--token-hook`, with the server's secret.
   */
  tokenHook?: TenantHookSetting | 'none';
}

/** A tenant's own token hook; absent timeout and failure mode take the server's options. */
export interface TenantHookSetting {
  url: string;
  timeoutMs?: number;
  failure?: 'deny' | 'allow';
}

/**
 * A tenant (issue 21): its own issuer, keys, clients, revocations and audit trail. The
 * `default` tenant has no row: it is the server's own configuration. Null columns take the
 * server's setting (the issuer: `<server issuer>/t/NAME`).
 */
export interface TenantRecord {
  /** `[a-z0-9][a-z0-9-]{0,62}` (tenants/tenant-name.ts). */
  name: string;
  issuer: string | null;
  preset: string | null;
  /** Default access token lifetime (seconds). */
  tokenTtl: number | null;
  signingAlg: SigningAlgorithm | null;
  /** The `aud` of tokens whose client and request name none. */
  defaultAudience: string | null;
  settings: TenantSettings;
  createdAt: number;
  updatedAt: number;
}

export type NewTenant = Omit<TenantRecord, 'createdAt' | 'updatedAt'>;
export type TenantPatch = Partial<Omit<TenantRecord, 'name' | 'createdAt' | 'updatedAt'>>;

/** A replica-attached store's view of its replica (store/replica/), for /readyz and /metrics. */
export interface ReplicationState {
  /** Whether the last poll reached a replica. */
  reachable: boolean;
  /** Seconds behind the primary at the last successful poll; null before the first one. */
  lagSeconds: number | null;
  /** Whether the replica streams from the primary; null when it cannot tell (see replica-status.ts). */
  streaming: boolean | null;
  /** Which of the configured replicas is read (0-based, in the order given). */
  current: number;
  replicas: number;
}

/**
 * Storage contract shared by every adapter (SQLite, PostgreSQL). Every write that returns has
 * been committed durably, and records a {@link Change} in the same transaction so other
 * processes can refresh their in-memory caches.
 */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /**
   * Issue 21: the tenant this store is scoped to: clients, keys, revocations, token
   * lifetimes, client pages, imports and the audit trail are read and written within it.
   * Settings, console sessions, operators, events, leases and the change feed are shared.
   */
  readonly tenant: string;
  /**
   * The same contract scoped to tenant `name` (no check that it exists: see getTenant).
   * A client or key of another tenant is not found; creating a client whose client_id
   * another tenant holds fails like any duplicate, without naming that tenant.
   */
  forTenant(name: string): Store;
  /** Every tenant row, by name (the implicit `default` has none). */
  listTenants(): Promise<TenantRecord[]>;
  getTenant(name: string): Promise<TenantRecord | undefined>;
  /**
   * Creates the tenant with a `tenant` change row; the audit entries go to the new tenant's
   * trail and to the default tenant's. Throws on a duplicate name.
   */
  createTenant(tenant: NewTenant, audit?: readonly AuditEntry[]): Promise<TenantRecord>;
  updateTenant(
    name: string,
    patch: TenantPatch,
    audit?: readonly AuditEntry[],
  ): Promise<TenantRecord | undefined>;
  /**
   * Deletes the tenant and its clients, keys and revocations (its audit trail is kept);
   * the audit entries go to the default tenant's trail. Returns whether there was one.
   */
  deleteTenant(name: string, audit?: readonly AuditEntry[]): Promise<boolean>;
  /** Set by the write guard (store/write-guard.ts): why writes are currently refused, if they are. */
  readonly writeHealth?: { refusedBecause: string | undefined };
  /** Only on an instance reading a replica (`--database-replica`): the latest poll's view of it. */
  readonly replication?: ReplicationState;
  migrate(): Promise<void>;
  close(): Promise<void>;
  /** A cheap liveness probe for /readyz. */
  ping(): Promise<void>;

  getClient(clientId: string): Promise<ClientRecord | undefined>;
  listClients(): Promise<ClientRecord[]>;
  /** One page of clients by keyset (never an OFFSET): as fast at the millionth as at the first. */
  listClientPage(query: ClientPageQuery): Promise<ClientPage>;
  /**
   * Creates many clients in one transaction with one change row (`client`, `*`: every cache
   * drops its clients): the bulk seeding of `bench/seed-clients.ts`, no audit entries.
   * Returns how many were inserted.
   */
  importClients(clients: readonly NewClient[]): Promise<number>;
  /** The longest `token_ttl` any client has, and whether some client uses the server default. */
  tokenLifetimes(): Promise<{ longest: number | null; someDefault: boolean }>;
  // Client writes take the audit entries that describe them and commit both together (an
  // update or delete that finds no client writes none): a crash cannot keep one without the
  // other.
  createClient(client: NewClient, audit?: readonly AuditEntry[]): Promise<ClientRecord>;
  updateClient(
    clientId: string,
    patch: ClientPatch,
    audit?: readonly AuditEntry[],
  ): Promise<ClientRecord | undefined>;
  deleteClient(clientId: string, audit?: readonly AuditEntry[]): Promise<boolean>;
  /** Adds, expires and removes a client's secrets in one transaction (secret rotation). */
  changeSecrets(
    clientId: string,
    change: SecretChange,
    audit?: readonly AuditEntry[],
  ): Promise<void>;
  recordSecretUse(
    uses: ReadonlyArray<{ clientId: string; secretId: string; at: number }>,
  ): Promise<void>;

  listKeys(): Promise<KeyRecord[]>;
  insertKey(key: KeyRecord): Promise<void>;
  updateKey(
    kid: string,
    patch: Partial<Pick<KeyRecord, 'state' | 'activatesAt' | 'retiresAt'>>,
  ): Promise<void>;
  /**
   * Inserts `key` (state `active`) only if no key of its algorithm is active yet, atomically,
   * so processes starting together agree on one key. Returns whether it was inserted.
   */
  insertKeyIfNoneActive(key: KeyRecord): Promise<boolean>;
  /**
   * Reads every key and applies the patches (and new keys) `plan` returns, in one
   * serialized transaction, so concurrent processes never both rotate or both transition.
   */
  transitionKeys(
    plan: (keys: readonly KeyRecord[]) => { patches: KeyPatch[]; insert?: KeyRecord[] },
  ): Promise<boolean>;

  /**
   * Replaces sealed private keys and sealed settings in one transaction (key-encryption key
   * rotation). Optional while an adapter lacks it; the CLI says so.
   */
  rewrap?(update: {
    keys: Array<{ kid: string; encryptedPrivateKey: string }>;
    settings: Array<{ name: string; value: string }>;
  }): Promise<void>;

  /** Inserts the setting unless it exists; returns the stored value either way. */
  ensureSetting(name: string, value: string): Promise<string>;
  getSetting(name: string): Promise<string | undefined>;
  setSetting(name: string, value: string): Promise<void>;
  /** Every setting, by name (what `tessera migrate-store` copies). */
  listSettings(): Promise<Array<{ name: string; value: string }>>;

  /** Records a revocation (idempotent); returns its change sequence number. */
  addRevocation(revocation: RevocationRecord): Promise<number>;
  /** Revocations recorded after change `afterSeq`, oldest first. */
  listRevocations(afterSeq?: number): Promise<SequencedRevocation[]>;
  /** Deletes revocations of tokens that expired before `now`, and change rows older than `changesBefore`. */
  prune(now: number, changesBefore: number): Promise<number>;

  appendAudit(entry: AuditEntry): Promise<void>;
  /**
   * The newest `limit` entries, newest first; with `actor`, only those whose actor, person
   * email or subject, or machine client_id is `actor`.
   */
  listAudit(limit: number, filter?: { actor?: string | undefined }): Promise<AuditEntry[]>;

  // Console sessions (issue 20): pruned with the revocations once past expiresAt.
  putConsoleSession(session: ConsoleSessionRecord): Promise<void>;
  getConsoleSession(id: string): Promise<ConsoleSessionRecord | undefined>;
  touchConsoleSession(id: string, lastSeenAt: number): Promise<void>;
  /** Deletes the session; returns whether there was one (a sign-in is used once). */
  deleteConsoleSession(id: string): Promise<boolean>;
  // Operators kept in Tessera (`tessera operators …`).
  listOperators(): Promise<OperatorRecord[]>;
  getOperator(email: string): Promise<OperatorRecord | undefined>;
  putOperator(operator: OperatorRecord): Promise<void>;
  removeOperator(email: string): Promise<boolean>;
  // Issue 21: operators of one tenant. Not scoped by `forTenant`: a person's roles are read
  // across tenants by email. Deleting a tenant deletes its operators.
  /** The tenant's operators, or every tenant's (by tenant, then email) when undefined. */
  listTenantOperators(tenant?: string): Promise<TenantOperatorRecord[]>;
  /** The tenants `email` has a role in, by tenant name. */
  tenantRolesOf(email: string): Promise<TenantOperatorRecord[]>;
  putTenantOperator(operator: TenantOperatorRecord): Promise<void>;
  removeTenantOperator(tenant: string, email: string): Promise<boolean>;

  /** The newest change's sequence number (0 when none): where a new cache starts following. */
  latestChange(): Promise<number>;
  /** Changes recorded after `cursor` (exclusive), oldest first. */
  changesSince(cursor: number): Promise<{ changes: Change[]; cursor: number }>;
  /**
   * The events outbox (events/): client and key writes append the events they cause in their
   * own transaction; `appendEvents` is for what is not a store write (lockouts).
   */
  appendEvents(events: readonly NewEvent[]): Promise<void>;
  /** The newest event's seq (0 when none): where a tail of new events starts. */
  latestEventSeq(): Promise<number>;
  /** Events after `afterSeq`, oldest first, at most `limit`. */
  listEvents(afterSeq: number, limit: number): Promise<StoredEvent[]>;
  /** The oldest undelivered (and not abandoned) events, oldest first, with their next try (ms). */
  undeliveredEvents(limit: number): Promise<Array<StoredEvent & { nextAttemptAt: number }>>;
  markEventDelivered(seq: number, at: number): Promise<void>;
  recordEventFailure(seq: number, failure: EventFailure): Promise<void>;
  /**
   * Takes the named lease for `holder` until `until` (epoch seconds), or renews it, unless
   * another holder's lease still runs at `now`. Returns whether `holder` holds it.
   */
  holdLease(name: string, holder: string, now: number, until: number): Promise<boolean>;

  /**
   * Subscribes to changes committed by other processes. The callback is a hint: call
   * {@link changesSince} to learn what changed. Returns an unsubscribe function.
   */
  watch(onChange: () => void): () => void;
  /**
   * Synchronous check for changes by other processes, cheap enough for every request
   * (SQLite: `PRAGMA data_version`, no table read). Adapters that are push-notified return false.
   */
  hasForeignChanges(): boolean;
}
