import { OAuthError, type ClientAuthMethod, type ReplayGuard } from '@tessera/protocol';
import type { Params } from '../http/parse-params.js';
import type { ClientCache } from '../registry/client-cache.js';
import type { SecretHasher } from '../secrets/client-secret.js';
import type { ClientRecord } from '../store/contract.js';
import type { PresentedCertificate } from '../tls/client-certificate.js';
import { defaultFailureLimits, FailureLimiter, TenantFailures } from './failure-limiter.js';
import { parseBasicAuthorization } from './client-secret-basic.js';
import { parsePostCredentials } from './client-secret-post.js';
import type {
  AssertionCredentials,
  CertificateCredentials,
  PresentedCredentials,
} from './credentials.js';
import { clientAuthFailureOf, invalidClient } from './failure-reasons.js';
import {
  ClientAssertionVerifier,
  parseAssertionCredentials,
  type AssertionPolicy,
} from './private-key-jwt.js';
import { verifyTlsClient } from './tls-client-auth.js';
import { FederatedAssertionVerifier } from './federated.js';
import { effectiveProfile, fapi2Algorithms } from '../profiles/fapi2.js';
import { maxAssertionLifetime } from './private-key-jwt.js';

export interface AuthenticatedClient {
  client: ClientRecord;
  /** `federated`: a workload's JWT from a trusted external issuer (issue 25). */
  method: ClientAuthMethod | 'federated';
  /** The secret that matched; undefined for private_key_jwt and the TLS methods. */
  secretId: string | undefined;
}

/**
 * Picks exactly one authentication method from the request (RFC 6749 §2.3: "MUST NOT use
 * more than one authentication method in each request").
 */
export function presentedCredentials(
  authorization: string | undefined,
  params: Params,
  certificate?: PresentedCertificate,
): PresentedCredentials {
  const inBody = params.has('client_secret');
  const assertion = parseAssertionCredentials(params);
  if (assertion) {
    if (authorization !== undefined || inBody) {
      throw new OAuthError(
        'invalid_request',
        'Only one client authentication method may be used per request',
      );
    }
    return assertion;
  }
  // RFC 8705 §2: a certificate and client_id, no other credentials.
  const clientId = params.get('client_id');
  if (certificate && authorization === undefined && !inBody && clientId !== undefined)
    return { method: 'tls', clientId, certificate };
  if (authorization !== undefined) {
    if (inBody) {
      throw new OAuthError(
        'invalid_request',
        'Only one client authentication method may be used per request',
      );
    }
    const credentials = parseBasicAuthorization(authorization);
    const bodyClientId = params.get('client_id');
    if (
      bodyClientId !== undefined &&
      bodyClientId !== credentials.clientId &&
      bodyClientId !== credentials.rawClientId
    ) {
      throw new OAuthError(
        'invalid_request',
        'client_id in the body does not match the Authorization header',
      );
    }
    return credentials;
  }
  return parsePostCredentials(params);
}

const defaultFailures = (nowSeconds: () => number): TenantFailures => {
  const limiter = new FailureLimiter(defaultFailureLimits, nowSeconds);
  return new TenantFailures(limiter, limiter.scope);
};

export class ClientAuthenticator {
  constructor(
    private readonly clients: ClientCache,
    private readonly hasher: SecretHasher,
    private readonly nowSeconds: () => number,
    /** The failure counts of this authenticator's tenant (issue 21: each tenant counts apart). */
    readonly failures: TenantFailures = defaultFailures(nowSeconds),
    /** The issuer identifier, which `private_key_jwt` assertions must name as `aud`. */
    private readonly issuer: () => string = () => '',
    /** Where assertion `jti`s are remembered (this process's own cache by default). */
    assertionReplay?: ReplayGuard,
    /** Accepted assertion `aud` and lifetime; default strict (the issuer, 300 s). */
    private readonly assertionPolicy?: AssertionPolicy,
  ) {
    this.assertions = new ClientAssertionVerifier(nowSeconds, assertionReplay);
    this.federated = new FederatedAssertionVerifier(nowSeconds, assertionReplay);
  }

  /** Workload JWTs of `federated` clients, with the bounded fetchers of their issuers. */
  readonly federated: FederatedAssertionVerifier;

  /** `--profile`: every client held to FAPI 2.0 (issue 25); else each client's own profile. */
  serverProfile: 'fapi2' | undefined;

  #fapi2(client: ClientRecord): boolean {
    return effectiveProfile({ profile: this.serverProfile }, client) === 'fapi2';
  }

  /** private_key_jwt verification, with the bounded fetcher of clients' `jwks_uri`s. */
  readonly assertions: ClientAssertionVerifier;

  /**
   * Verifies presented credentials. Unknown client, wrong secret, disabled client and a
   * method the client is not registered for all fail the same way, after the same work.
   */
  async authenticate(
    credentials: PresentedCredentials,
    sourceAddress?: string,
  ): Promise<AuthenticatedClient> {
    if (credentials.method === 'private_key_jwt' && credentials.notOwn) {
      // Refused as it was before any client could take such an assertion; a store read for
      // it only past the limiter, so made-up client_ids cannot buy unlimited reads.
      let client = this.clients.peek(credentials.clientId);
      if (!client) {
        this.failures.check(credentials.clientId, sourceAddress);
        client = await this.clients.get(credentials.clientId);
      }
      if (client?.authMethod !== 'federated') throw credentials.notOwn;
    }
    this.failures.check(credentials.clientId, sourceAddress);
    try {
      const authenticated = await this.#verify(credentials);
      this.failures.recordSuccess(credentials.clientId, sourceAddress);
      return authenticated;
    } catch (error) {
      await this.failures.recordFailure(
        credentials.clientId,
        sourceAddress,
        clientAuthFailureOf(error),
      );
      throw error;
    }
  }

  async #verify(credentials: PresentedCredentials): Promise<AuthenticatedClient> {
    if (credentials.method === 'private_key_jwt' || credentials.method === 'tls')
      return this.#verifyWithoutSecret(credentials);
    const usedHeader = credentials.method === 'client_secret_basic';
    let client =
      this.clients.peek(credentials.clientId) ?? (await this.clients.get(credentials.clientId));
    // Basic sent without RFC 6749 §2.3.1's encoding: a raw `+` decoded to a space. Looked up
    // only when the decoded id names no client, so a real id with a space wins.
    if (!client && credentials.rawClientId !== undefined)
      client =
        this.clients.peek(credentials.rawClientId) ??
        (await this.clients.get(credentials.rawClientId));
    const now = this.nowSeconds();
    const secrets = client?.secrets ?? [];
    const match = (candidates: typeof secrets) =>
      this.hasher.match(credentials.secret, candidates, now) ??
      (credentials.rawSecret === undefined
        ? undefined
        : this.hasher.match(credentials.rawSecret, candidates, now));
    let matched = match(secrets);
    if (!matched && client) {
      // The constant-cost failure path (ClientCache.refresh): one read per id per window.
      client = await this.clients.refresh(client.clientId);
      if (client) matched = match(client.secrets);
    } else if (!matched) match(secrets); // the same hashing work for an unknown id
    if (!client) throw invalidClient(usedHeader, 'unknown_client', 'unknown client');
    if (!matched) throw invalidClient(usedHeader, 'wrong_secret', 'secret mismatch');
    if (client.status !== 'active') throw invalidClient(usedHeader, 'disabled', 'client disabled');
    if (client.authMethod !== 'any' && client.authMethod !== credentials.method) {
      const detail = `client registered for ${client.authMethod}`;
      throw invalidClient(usedHeader, 'method_not_allowed', detail);
    }
    // FAPI 2.0 §5.3.3.4: no shared secrets, even a right one.
    if (this.#fapi2(client))
      throw invalidClient(usedHeader, 'method_not_allowed', 'profile fapi2 refuses client secrets');
    return { client, method: credentials.method, secretId: matched.id };
  }

  async #verifyWithoutSecret(
    credentials: AssertionCredentials | CertificateCredentials,
  ): Promise<AuthenticatedClient> {
    const client =
      this.clients.peek(credentials.clientId) ?? (await this.clients.get(credentials.clientId));
    if (!client) throw invalidClient(false, 'unknown_client', 'unknown client');
    if (client.status !== 'active') throw invalidClient(false, 'disabled', 'client disabled');
    if (credentials.method === 'private_key_jwt' && client.authMethod === 'federated') {
      if (this.#fapi2(client))
        throw invalidClient(false, 'method_not_allowed', 'profile fapi2 refuses federated clients');
      await this.federated.verify(client, credentials.assertion, this.issuer());
      return { client, method: 'federated', secretId: undefined };
    }
    if (credentials.method === 'private_key_jwt') {
      if (client.authMethod !== 'private_key_jwt')
        throw invalidClient(
          false,
          'method_not_allowed',
          `client registered for ${client.authMethod}`,
        );
      const issuer = this.issuer();
      await this.assertions.verify(
        client,
        credentials.assertion,
        issuer,
        this.#fapi2(client)
          ? {
              // FAPI 2.0 §5.3.2.1: aud exactly the issuer; §5.4.1: no RS256.
              audiences: () => [issuer],
              strictAudience: true,
              maxLifetime: this.assertionPolicy?.maxLifetime ?? maxAssertionLifetime,
              algorithms: fapi2Algorithms,
            }
          : this.assertionPolicy,
      );
      return { client, method: 'private_key_jwt', secretId: undefined };
    }
    if (
      client.authMethod !== 'tls_client_auth' &&
      client.authMethod !== 'self_signed_tls_client_auth'
    ) {
      throw invalidClient(
        false,
        'method_not_allowed',
        `client registered for ${client.authMethod}`,
      );
    }
    await verifyTlsClient(client, credentials.certificate);
    return { client, method: client.authMethod, secretId: undefined };
  }
}
