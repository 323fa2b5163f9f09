/**
 * How stored records are shown, the same through the CLI (`--json` and tables) and the admin
 * API: wire names (RFC 7591 metadata for clients), ISO 8601 times, never a secret or a hash.
 */
import type {
  AuditEntry,
  ClientAuthConfig,
  ClientRecord,
  KeyRecord,
  TenantRecord,
  TenantSettings,
} from '../store/contract.js';
import { tenantIssuer } from '../tenants/tenant-config.js';
import { readTenantSettings } from '../tenants/tenant-settings.js';

const iso = (seconds: number | null) =>
  seconds === null ? null : new Date(seconds * 1000).toISOString();

/** A client as the CLI and admin API show it: never a secret or its hash. */
export function clientView(client: ClientRecord) {
  return {
    client_id: client.clientId,
    name: client.name,
    status: client.status,
    scope: client.scopes.join(' '),
    audience: client.audiences,
    token_ttl: client.tokenTtl,
    auth_method: client.authMethod,
    ...authConfigView(client.authConfig),
    // Issue 25: shown only when the client is held to one.
    ...(client.profile ? { profile: client.profile } : {}),
    grant_types: client.grantTypes,
    // Shown when the client has some, like the auth settings above.
    ...(Object.keys(client.claims).length > 0 ? { claims: client.claims } : {}),
    token_quota: client.tokenQuota,
    reuse_tokens: client.reuseTokens,
    created_at: iso(client.createdAt),
    updated_at: iso(client.updatedAt),
    secrets: client.secrets.map((secret) => ({
      id: secret.id,
      created_at: iso(secret.createdAt),
      expires_at: iso(secret.expiresAt),
      last_used_at: iso(secret.lastUsedAt),
    })),
  };
}

export function keyView(key: KeyRecord) {
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    created_at: iso(key.createdAt),
    activates_at: iso(key.activatesAt),
    retires_at: iso(key.retiresAt),
  };
}

/**
 * A tenant as the CLI (and the admin API) show it: its own settings (null: the server's)
 * and the issuer it answers as under `serverIssuer`.
 */
export function tenantView(tenant: TenantRecord, serverIssuer: string) {
  return {
    name: tenant.name,
    issuer: tenant.issuer,
    effective_issuer: tenantIssuer(serverIssuer, tenant),
    preset: tenant.preset,
    token_ttl: tenant.tokenTtl,
    signing_alg: tenant.signingAlg,
    default_audience: tenant.defaultAudience,
    ...tenantSettingsView(tenant.settings),
    created_at: iso(tenant.createdAt),
    updated_at: iso(tenant.updatedAt),
  };
}

/**
 * A tenant's lockout limits and token hook under the admin API's names: its own values, null
 * for each it leaves to the server (`token_hook` null: the server's hook; `none`: no hook).
 */
export function tenantSettingsView(stored: TenantSettings) {
  const settings = readTenantSettings(stored);
  const limits = settings.authFailureLimits ?? {};
  const hook = settings.tokenHook;
  return {
    auth_failure_limits: {
      per_client: limits.perClient ?? null,
      per_address: limits.perAddress ?? null,
      window_seconds: limits.windowSeconds ?? null,
      lock_seconds: limits.lockSeconds ?? null,
    },
    token_hook:
      hook === undefined || hook === 'none'
        ? (hook ?? null)
        : { url: hook.url, timeout_ms: hook.timeoutMs ?? null, failure: hook.failure ?? null },
  };
}

export function auditView(entry: AuditEntry) {
  return {
    id: entry.id,
    at: iso(entry.at),
    actor: entry.actor,
    action: entry.action,
    target: entry.target,
    details: entry.details,
    person: entry.person ?? null,
    source_address: entry.sourceAddress ?? null,
    request_id: entry.requestId ?? null,
  };
}

/** The registered settings under their RFC 7591 / 8705 / 9449 metadata names; `{}` when none. */
export function authConfigView(config: ClientAuthConfig | undefined): {
  jwks?: { keys: JsonWebKey[] };
  jwks_uri?: string;
  tls_client_auth_subject_dn?: string;
  tls_client_auth_san_dns?: string;
  dpop_bound_access_tokens?: boolean;
  federated_issuer?: string;
  federated_subject?: string;
  federated_audience?: string;
  federated_jwks_uri?: string;
} {
  if (!config) return {};
  return {
    ...(config.jwks !== undefined ? { jwks: config.jwks } : {}),
    ...(config.jwksUri !== undefined ? { jwks_uri: config.jwksUri } : {}),
    ...(config.tlsSubjectDn !== undefined
      ? { tls_client_auth_subject_dn: config.tlsSubjectDn }
      : {}),
    ...(config.tlsSanDns !== undefined ? { tls_client_auth_san_dns: config.tlsSanDns } : {}),
    ...(config.dpopBound ? { dpop_bound_access_tokens: true } : {}),
    // Issue 25: secretless clients.
    ...(config.federatedIssuer !== undefined ? { federated_issuer: config.federatedIssuer } : {}),
    ...(config.federatedSubject !== undefined
      ? { federated_subject: config.federatedSubject }
      : {}),
    ...(config.federatedAudience !== undefined
      ? { federated_audience: config.federatedAudience }
      : {}),
    ...(config.federatedJwksUri !== undefined
      ? { federated_jwks_uri: config.federatedJwksUri }
      : {}),
  };
}
