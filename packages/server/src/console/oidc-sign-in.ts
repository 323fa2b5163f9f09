import * as oauth from 'oauth4webapi';
import type { ServerConfig } from '../config.js';
import type { AuditPerson } from '../store/contract.js';

/** Every call to the identity provider gives up after this long. */
const providerTimeoutMs = 10_000;

export type OidcConfig = Pick<
  ServerConfig,
  | 'issuer'
  | 'consoleOidcIssuer'
  | 'consoleOidcClientId'
  | 'consoleOidcClientSecret'
  | 'consoleRequireAcr'
>;

/** What the browser must bring back to the callback: kept server-side, keyed by a cookie. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** The verified ID token of a person who signed in. */
export interface SignedInPerson extends AuditPerson {
  claims: oauth.IDToken;
  acr: string | undefined;
}

/** A sign-in that failed; `code` (oauth4webapi's, or ours) is safe to show and log. */
export class SignInError extends Error {
  override name = 'SignInError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The console's OpenID Connect relying party, on oauth4webapi: discovery, the authorization
 * code flow with PKCE (S256), `state` and `nonce`, and the ID token checked for issuer,
 * audience, expiry, nonce and (explicitly, as oauth4webapi checks it only when asked) its
 * signature against the provider's JWKS. An `http://` provider is reached only on a loopback
 * host (the option's parser refuses any other).
 */
export class OidcSignIn {
  readonly #config: OidcConfig;
  readonly #nowSeconds: () => number;
  #server: Promise<oauth.AuthorizationServer> | undefined;

  constructor(config: OidcConfig, nowSeconds: () => number) {
    this.#config = config;
    this.#nowSeconds = nowSeconds;
  }

  get redirectUri(): string {
    return `${this.#config.issuer}/console/callback`;
  }

  #options() {
    return {
      signal: AbortSignal.timeout(providerTimeoutMs),
      // The option's parser allows http only on a loopback host.
      [oauth.allowInsecureRequests]: this.#config.consoleOidcIssuer!.startsWith('http:'),
    };
  }

  #client(): oauth.Client {
    // The injected clock decides expiry, as it does everywhere else in Tessera.
    const skew = this.#nowSeconds() - Math.floor(Date.now() / 1000);
    return { client_id: this.#config.consoleOidcClientId!, [oauth.clockSkew]: skew };
  }

  #clientAuth(): oauth.ClientAuth {
    const secret = this.#config.consoleOidcClientSecret;
    return secret === undefined ? oauth.None() : oauth.ClientSecretBasic(secret);
  }

  /** The provider's metadata (RFC 8414 / OIDC Discovery), fetched once; a failure is retried. */
  metadata(): Promise<oauth.AuthorizationServer> {
    this.#server ??= (async () => {
      const issuer = new URL(this.#config.consoleOidcIssuer!);
      const response = await oauth.discoveryRequest(issuer, {
        ...this.#options(),
        algorithm: 'oidc',
      });
      return oauth.processDiscoveryResponse(issuer, response);
    })();
    this.#server.catch(() => {
      this.#server = undefined;
    });
    return this.#server;
  }

  /** The authorization request (OIDC Core §3.1.2.1) and what the callback must match. */
  async start(): Promise<{ location: string; pending: PendingSignIn }> {
    const server = await this.metadata();
    if (server.authorization_endpoint === undefined)
      throw new SignInError(
        'no_authorization_endpoint',
        'The provider has no authorization endpoint',
      );
    const pending = {
      state: oauth.generateRandomState(),
      nonce: oauth.generateRandomNonce(),
      codeVerifier: oauth.generateRandomCodeVerifier(),
    };
    const url = new URL(server.authorization_endpoint);
    const query = {
      response_type: 'code',
      client_id: this.#config.consoleOidcClientId!,
      redirect_uri: this.redirectUri,
      scope: 'openid email profile',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oauth.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
      ...(this.#config.consoleRequireAcr === undefined
        ? {}
        : { acr_values: this.#config.consoleRequireAcr }),
    };
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return { location: url.href, pending };
  }

  /**
   * The callback (OIDC Core §3.1.2.5): the authorization response checked against `pending`,
   * the code redeemed with the PKCE verifier, the ID token checked, signature included.
   */
  async finish(callbackUrl: URL, pending: PendingSignIn): Promise<SignedInPerson> {
    try {
      const server = await this.metadata();
      const client = this.#client();
      const params = oauth.validateAuthResponse(server, client, callbackUrl, pending.state);
      const response = await oauth.authorizationCodeGrantRequest(
        server,
        client,
        this.#clientAuth(),
        params,
        this.redirectUri,
        pending.codeVerifier,
        this.#options(),
      );
      const result = await oauth.processAuthorizationCodeResponse(server, client, response, {
        expectedNonce: pending.nonce,
        requireIdToken: true,
      });
      // Not optional here: an operator's session must rest on a token the provider signed.
      await oauth
        .validateApplicationLevelSignature(server, response, this.#options())
        .catch((error: unknown) => {
          throw new SignInError(
            'id_token_signature_invalid',
            "The ID token's signature does not verify with the provider's keys",
            { cause: error },
          );
        });
      const claims = oauth.getValidatedIdTokenClaims(result)!;
      const email = typeof claims.email === 'string' ? claims.email : undefined;
      return {
        iss: claims.iss,
        sub: claims.sub,
        ...(email === undefined ? {} : { email }),
        acr: typeof claims.acr === 'string' ? claims.acr : undefined,
        claims,
      };
    } catch (error) {
      if (error instanceof SignInError) throw error;
      const code =
        error instanceof oauth.AuthorizationResponseError
          ? `provider:${error.error}`
          : typeof (error as { code?: unknown }).code === 'string'
            ? (error as { code: string }).code
            : 'provider_unreachable';
      throw new SignInError(code, (error as Error).message, { cause: error });
    }
  }
}
