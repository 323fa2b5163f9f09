import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  jwtVerify,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose';
import type { Params } from '../http/parse-params.js';
import { LruMap } from '../lib/lru.js';
import type { ClientRecord } from '../store/contract.js';
import type { AssertionCredentials } from './credentials.js';
import { invalidClient } from './failure-reasons.js';
import {
  jwtBearerAssertionType,
  OAuthError,
  ReplayCache,
  type ReplayGuard,
} from '@tessera/protocol';

/** `token_endpoint_auth_signing_alg_values_supported`: asymmetric algorithms only. */
export const assertionSigningAlgorithms = ['RS256', 'PS256', 'ES256', 'EdDSA'];
/** An assertion may not be valid for longer than this (seconds from now to `exp`). */
export const maxAssertionLifetime = 300;
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
  if (typeof sub !== 'string' || sub === '' || iss !== sub)
    throw invalidClient(
      false,
      'assertion_malformed',
      'client_assertion iss and sub must both be the client_id',
    );
  const clientId = params.get('client_id');
  if (clientId !== undefined && clientId !== sub) {
    throw new OAuthError(
      'invalid_request',
      'client_id does not match the client_assertion subject',
    );
  }
  return { method: 'private_key_jwt', clientId: sub, assertion };
}

/**
 * Verifies `private_key_jwt` assertions (RFC 7523 §3) against the client's registered keys:
 * signature with an allowed algorithm, `iss` = `sub` = client_id, `aud` exactly the issuer
 * (a single string: token endpoint URLs and arrays are refused, closing audience-confusion
 * attacks), `exp` present and at most {@link maxAssertionLifetime} away, `jti` used once.
 */
export class ClientAssertionVerifier {
  readonly #replay: ReplayGuard;
  readonly #remoteSets = new LruMap<string, JWTVerifyGetKey>(1_000);
  readonly #localSets = new WeakMap<ClientRecord, JWTVerifyGetKey>();

  constructor(
    private readonly nowSeconds: () => number,
    replay: ReplayGuard = new ReplayCache(100_000, nowSeconds),
  ) {
    this.#replay = replay;
  }

  async verify(client: ClientRecord, assertion: string, issuer: string): Promise<void> {
    const keys = this.#keysOf(client);
    if (!keys) throw invalidClient(false, 'assertion_no_keys', 'client has no registered keys');
    const now = this.nowSeconds();
    let payload;
    try {
      ({ payload } = await jwtVerify(assertion, keys, {
        algorithms: assertionSigningAlgorithms,
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
    if (payload.aud !== issuer)
      throw invalidClient(false, 'assertion_audience', 'client_assertion aud is not the issuer');
    if (payload.exp! > now + maxAssertionLifetime + clockTolerance)
      throw invalidClient(
        false,
        'assertion_lifetime',
        'client_assertion exp is too far in the future',
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
    if (jwksUri !== undefined) {
      let set = this.#remoteSets.get(jwksUri);
      if (!set) {
        set = createRemoteJWKSet(new URL(jwksUri), {
          timeoutDuration: 5_000,
          cooldownDuration: 30_000,
        });
        this.#remoteSets.set(jwksUri, set);
      }
      return set;
    }
    if (jwks === undefined) return undefined;
    let set = this.#localSets.get(client);
    if (!set) {
      set = createLocalJWKSet(jwks as JSONWebKeySet);
      this.#localSets.set(client, set);
    }
    return set;
  }
}
