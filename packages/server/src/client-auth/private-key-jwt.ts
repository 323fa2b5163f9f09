import {
  createLocalJWKSet,
  decodeJwt,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import type { Params } from '../http/parse-params.js';
import { BoundedFetcher, type BoundedFetchLimits } from '../lib/bounded-fetch.js';
import type { ClientRecord } from '../store/contract.js';
import type { AssertionCredentials } from './credentials.js';
import { ClientAuthError, invalidClient } from './failure-reasons.js';
import {
  jwtBearerAssertionType,
  OAuthError,
  ReplayCache,
  type ReplayGuard,
} from '@tessera/protocol';

/** `token_endpoint_auth_signing_alg_values_supported`: asymmetric algorithms only. */
export const assertionSigningAlgorithms = ['RS256', 'PS256', 'ES256', 'EdDSA'];
/** By default an assertion may not be valid for longer than this (seconds from now to `exp`). */
export const maxAssertionLifetime = 300;
/** Most keys a client's `jwks_uri` may publish; a larger set is refused. */
export const maxJwksKeys = 32;
/** An unknown `kid` refetches a `jwks_uri` at most this often (ms). */
const unknownKidRefetchMs = 60_000;

/**
 * The keys at `jwksUri`, through `fetcher`'s bounded cache; a `kid` the cached set lacks
 * refetches it (the owner may have rotated its key), at most once a minute. Used for clients'
 * `jwks_uri` and for federated issuers' keys.
 */
export function refetchingKeySet(
  fetcher: BoundedFetcher<JWTVerifyGetKey>,
  jwksUri: string,
): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await (
        await fetcher.get(jwksUri)
      )(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      if (!fetcher.invalidate(jwksUri, unknownKidRefetchMs)) throw error;
      return (await fetcher.get(jwksUri))(header, token);
    }
  };
}

/**
 * What assertions may say (`--assertion-audience`, `--assertion-max-lifetime`). The default
 * is strict (FAPI 2.0): `aud` exactly the issuer, a single string, and `exp` at most 300 s
 * away. `audience: 'any'` also accepts RFC 7523 §3's other identifiers of this server (the
 * token endpoint URL), as a string or in an array.
 */
export interface AssertionPolicy {
  /** The accepted `aud` values: the issuer alone (strict), or also the token endpoint URLs. */
  audiences: () => readonly string[];
  /** Whether `aud` must be exactly one string (strict) or may be an array containing one. */
  strictAudience: boolean;
  maxLifetime: number;
  /** Accepted `alg`s; default {@link assertionSigningAlgorithms} (FAPI 2.0: no RS256). */
  algorithms?: readonly string[];
}

/** The JWKS a client's `jwks_uri` serves, checked: an object with at most {@link maxJwksKeys} keys. */
function jwksKeySet(json: unknown): JWTVerifyGetKey {
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new Error('jwks_uri did not serve a JWK Set');
  if (keys.length > maxJwksKeys)
    throw new Error(`jwks_uri serves ${keys.length} keys, more than ${maxJwksKeys}`);
  return createLocalJWKSet(json as JSONWebKeySet);
}
/** Clock skew allowed on `exp`, `nbf` and `iat` (seconds). */
const clockTolerance = 30;

/**
 * RFC 7523 §2.2 / RFC 7521 §4.2: reads `client_assertion` and `client_assertion_type`, or
 * returns undefined when neither is sent. The client is named by the assertion's `sub`;
 * nothing is trusted until {@link ClientAssertionVerifier.verify} checks the signature.
 */
export function parseAssertionCredentials(params: Params): AssertionCredentials | undefined {
  const type = params.get('client_assertion_type');
  const assertion = params.get('client_assertion');
  if (type === undefined && assertion === undefined) return undefined;
  if (type !== jwtBearerAssertionType)
    throw new OAuthError(
      'invalid_request',
      `client_assertion_type must be ${jwtBearerAssertionType}`,
    );
  if (assertion === undefined || assertion === '')
    throw new OAuthError('invalid_request', 'The client_assertion parameter is missing');
  let sub: unknown;
  let iss: unknown;
  try {
    ({ sub, iss } = decodeJwt(assertion));
  } catch {
    throw invalidClient(false, 'assertion_malformed', 'client_assertion is not a JWT');
  }
  const clientId = params.get('client_id');
  let notOwn: Error | undefined;
  if (typeof sub !== 'string' || sub === '' || iss !== sub)
    notOwn = invalidClient(
      false,
      'assertion_malformed',
      'client_assertion iss and sub must both be the client_id',
    );
  else if (clientId !== undefined && clientId !== sub)
    notOwn = new OAuthError(
      'invalid_request',
      'client_id does not match the client_assertion subject',
    );
  // A workload's JWT (federated client) names the workload, not the client: client_id says
  // which client it is for; whether that client is federated is decided after the lookup.
  if (notOwn && clientId !== undefined && clientId !== '')
    return { method: 'private_key_jwt', clientId, assertion, notOwn };
  if (notOwn) throw notOwn;
  return { method: 'private_key_jwt', clientId: sub as string, assertion };
}

/**
 * Verifies `private_key_jwt` assertions (RFC 7523 §3) against the client's registered keys:
 * signature with an allowed algorithm, `iss` = `sub` = client_id, `aud` exactly the issuer
 * (a single string: token endpoint URLs and arrays are refused, closing audience-confusion
 * attacks), `exp` present and at most {@link maxAssertionLifetime} away, `jti` used once.
 */
export class ClientAssertionVerifier {
  readonly #replay: ReplayGuard;
  /** Clients' `jwks_uri`s, through the one bounded fetch helper (size, time, caching). */
  readonly jwksFetcher: BoundedFetcher<JWTVerifyGetKey>;
  readonly #localSets = new WeakMap<ClientRecord, JWTVerifyGetKey>();

  constructor(
    private readonly nowSeconds: () => number,
    replay: ReplayGuard = new ReplayCache(100_000, nowSeconds),
    fetchLimits: Partial<BoundedFetchLimits> = {},
  ) {
    this.#replay = replay;
    this.jwksFetcher = new BoundedFetcher(jwksKeySet, fetchLimits, () => nowSeconds() * 1000);
  }

  async verify(
    client: ClientRecord,
    assertion: string,
    issuer: string,
    policy: AssertionPolicy = {
      audiences: () => [issuer],
      strictAudience: true,
      maxLifetime: maxAssertionLifetime,
    },
  ): Promise<void> {
    const keys = this.#keysOf(client);
    if (!keys) throw invalidClient(false, 'assertion_no_keys', 'client has no registered keys');
    const now = this.nowSeconds();
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, keys, {
        algorithms: [...(policy.algorithms ?? assertionSigningAlgorithms)],
        issuer: client.clientId,
        subject: client.clientId,
        requiredClaims: ['exp', 'jti'],
        currentDate: new Date(now * 1000),
        clockTolerance,
      }));
    } catch (error) {
      throw invalidClient(
        false,
        'assertion_rejected',
        `client_assertion rejected: ${(error as Error).message}`,
      );
    }
    // Past the signature check: the reason may go to the caller, who holds the client's key.
    const audiences = policy.audiences();
    const aud = payload.aud;
    const audienceOk = policy.strictAudience
      ? typeof aud === 'string' && audiences.includes(aud)
      : ([] as unknown[]).concat(aud).some((value) => audiences.includes(value as string));
    if (!audienceOk) {
      const expected = policy.strictAudience
        ? `the issuer (${issuer}) as a single string`
        : `one of ${audiences.join(', ')}`;
      throw new ClientAuthError(
        'assertion_audience',
        { detail: 'client_assertion aud not accepted' },
        `Client authentication failed: client_assertion aud must be ${expected}`,
      );
    }
    if (payload.exp! > now + policy.maxLifetime + clockTolerance)
      throw new ClientAuthError(
        'assertion_lifetime',
        { detail: 'client_assertion exp is too far in the future' },
        `Client authentication failed: client_assertion exp may be at most ${policy.maxLifetime} seconds away`,
      );
    if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > 256)
      throw invalidClient(false, 'assertion_jti_missing', 'client_assertion jti is missing');
    const used = await this.#replay.use(
      `${client.clientId}\u0000${payload.jti}`,
      payload.exp! + clockTolerance,
    );
    if (used === 'replayed')
      throw invalidClient(false, 'assertion_replayed', 'client_assertion jti replayed');
    if (used === 'full') {
      throw new OAuthError('temporarily_unavailable', 'Too many client assertions; retry shortly', {
        status: 503,
        detail: 'client assertion replay cache full',
      });
    }
  }

  #keysOf(client: ClientRecord): JWTVerifyGetKey | undefined {
    const { jwks, jwksUri } = client.authConfig;
    if (jwksUri !== undefined) return refetchingKeySet(this.jwksFetcher, jwksUri);
    if (jwks === undefined) return undefined;
    let set = this.#localSets.get(client);
    if (!set) {
      set = createLocalJWKSet(jwks as JSONWebKeySet);
      this.#localSets.set(client, set);
    }
    return set;
  }
}
