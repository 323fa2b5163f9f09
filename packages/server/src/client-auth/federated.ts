import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { ReplayCache, type ReplayGuard } from '@tessera/protocol';
import {
  BoundedFetcher,
  BoundedFetchError,
  type BoundedFetchLimits,
} from '../lib/bounded-fetch.js';
import type { ClientRecord } from '../store/contract.js';
import { isLoopbackHost } from './auth-config.js';
import { ClientAuthError, invalidClient } from './failure-reasons.js';
import { maxJwksKeys, refetchingKeySet } from './private-key-jwt.js';

/**
 * Algorithms a workload's JWT may be signed with: the asymmetric ones Kubernetes, SPIFFE and
 * CI issuers use. Never `none` or HMAC (a shared secret is what federation replaces).
 */
export const federatedAlgorithms = ['RS256', 'PS256', 'ES256', 'EdDSA'];
/** Clock skew allowed on `exp`, `nbf` and `iat` (seconds). */
const clockTolerance = 30;
/**
 * Each outbound call (discovery, then JWKS) may take this long, so a hanging issuer is
 * refused within 10 s even when both calls are needed.
 */
export const federatedFetchTimeoutMs = 4_500;

/** The parts of an OpenID discovery document used here. */
interface IssuerMetadata {
  issuer: string;
  jwksUri: string;
}

/** Key sets larger than {@link maxJwksKeys} are refused; `keys` must be an array. */
function keySet(json: unknown): JWTVerifyGetKey {
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('the issuer did not serve a JWK Set');
  if (keys.length > maxJwksKeys)
    throw new Error(`the issuer serves ${keys.length} keys, more than ${maxJwksKeys}`);
  return createLocalJWKSet(json as JSONWebKeySet);
}

function issuerMetadata(json: unknown): IssuerMetadata {
  const { issuer, jwks_uri: jwksUri } = (json ?? {}) as { issuer?: unknown; jwks_uri?: unknown };
  if (typeof issuer !== 'string' || typeof jwksUri !== 'string')
    throw new Error('the discovery document lacks issuer or jwks_uri');
  const url = new URL(jwksUri);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname)))
    throw new Error('the discovery document names a jwks_uri that is not https');
  return { issuer, jwksUri };
}

/** OpenID Connect Discovery 1.0 §4: the document under the issuer's path. */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * Verifies a workload's own JWT (a Kubernetes service-account token, a SPIFFE JWT-SVID, a CI
 * job's OIDC token) presented as an RFC 7523 `client_assertion` for a `federated` client:
 * signature by a key the trusted issuer publishes (its discovery document's `jwks_uri`, or
 * the configured one), `iss` and `sub` exactly the registered ones, `aud` Tessera's issuer
 * or the registered audience, `exp` (required) and `nbf`, and `jti` used once when present.
 * The issuer's documents are fetched through the bounded fetch helper, cached, and the keys
 * refetched on an unknown `kid` at most once a minute. An unreachable issuer fails closed.
 *
 * Not checked: the assertion's lifetime beyond `exp` (Kubernetes tokens live an hour), and
 * anything about the workload beyond its `sub` (no claims mapping).
 */
export class FederatedAssertionVerifier {
  readonly discovery: BoundedFetcher<IssuerMetadata>;
  readonly jwks: BoundedFetcher<JWTVerifyGetKey>;
  readonly #replay: ReplayGuard;

  constructor(
    private readonly nowSeconds: () => number,
    replay: ReplayGuard = new ReplayCache(100_000, nowSeconds),
    limits: Partial<BoundedFetchLimits> = {},
  ) {
    this.#replay = replay;
    const bounded = { timeoutMs: federatedFetchTimeoutMs, failureBackoffSeconds: 5, ...limits };
    const nowMs = () => nowSeconds() * 1000;
    this.discovery = new BoundedFetcher(issuerMetadata, bounded, nowMs);
    this.jwks = new BoundedFetcher(keySet, bounded, nowMs);
  }

  async verify(client: ClientRecord, assertion: string, tesseraIssuer: string): Promise<void> {
    const { federatedIssuer: issuer, federatedSubject: subject } = client.authConfig;
    if (issuer === undefined || subject === undefined)
      throw invalidClient(false, 'assertion_no_keys', 'federated client without an issuer');
    const audience = client.authConfig.federatedAudience ?? tesseraIssuer;
    const jwksUri = await this.#jwksUri(client, issuer);
    const now = this.nowSeconds();
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, this.#keys(jwksUri), {
        algorithms: federatedAlgorithms,
        issuer,
        subject,
        audience,
        requiredClaims: ['exp'],
        currentDate: new Date(now * 1000),
        clockTolerance,
      }));
    } catch (error) {
      if (error instanceof BoundedFetchError) throw unreachable(issuer, error);
      throw invalidClient(
        false,
        'federated_rejected',
        `federated client_assertion rejected: ${(error as Error).message}`,
      );
    }
    if (payload.jti === undefined) return;
    if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256)
      throw invalidClient(false, 'assertion_jti_missing', 'federated assertion jti unusable');
    const used = await this.#replay.use(
      `federated\u0000${issuer}\u0000${payload.jti}`,
      payload.exp! + clockTolerance,
    );
    if (used !== 'fresh')
      throw invalidClient(false, 'assertion_replayed', `federated assertion jti ${used}`);
  }

  async #jwksUri(client: ClientRecord, issuer: string): Promise<string> {
    const configured = client.authConfig.federatedJwksUri;
    if (configured !== undefined) return configured;
    let metadata: IssuerMetadata;
    try {
      metadata = await this.discovery.get(discoveryUrl(issuer));
    } catch (error) {
      throw unreachable(issuer, error);
    }
    // OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was fetched for.
    if (metadata.issuer !== issuer)
      throw invalidClient(false, 'federated_issuer_unavailable', 'discovery issuer mismatch');
    return metadata.jwksUri;
  }

  #keys(jwksUri: string): JWTVerifyGetKey {
    return refetchingKeySet(this.jwks, jwksUri);
  }
}

function unreachable(issuer: string, error: unknown): ClientAuthError {
  return new ClientAuthError('federated_issuer_unavailable', {
    detail: `federated issuer ${issuer} unavailable: ${(error as Error).message}`,
    cause: error,
  });
}
