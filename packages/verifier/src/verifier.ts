import { VerifierError, rfc6750ErrorShape } from './errors.js';
import type { ErrorResponse, ErrorShape } from './errors.js';
import { safeEmitter } from './events.js';
import type { VerifierEventListener } from './events.js';
import { JwksCache } from './jwks-cache.js';
import { defaults, resolveOptions } from './options.js';
import type { ResolvedOptions, VerifierOptions } from './options.js';
import { RevocationFeed } from './revocation/feed.js';
import { Introspector } from './revocation/introspection.js';
import { LruCache } from './token-cache.js';
import { extractAccessToken } from './lib/authorization.js';
import { SenderConstraints, type SenderEvidence } from './sender-constraint.js';
import { checkClaims, checkTime } from './lib/claims.js';
import type { AccessTokenPayload } from './access-token.js';
import { isIntrospectionType, parseJws, parsePayload } from './lib/jws.js';
import { loadSignatureBackend } from './lib/signature.js';
import type { SignatureBackend } from './lib/signature.js';

/** A token that passed every check. Shared between requests presenting the same token: frozen. */
export interface VerifiedToken {
  /** The JWT claims (RFC 9068 §2.2). */
  readonly claims: AccessTokenPayload;
  /** The `scope` claim split into scope tokens. */
  readonly scopes: readonly string[];
  /** The JOSE header members that were checked. */
  readonly header: { readonly alg: string; readonly kid: string | undefined; readonly typ: string };
}

/**
 * Per-call options of the `verify*` methods. Tokens bound to a sender (`cnf`) need the
 * evidence: `clientCertificate` for mTLS-bound tokens, `dpop` for DPoP-bound ones (filled in
 * from a fetch `Request` by {@link Verifier.verify}).
 */
export interface VerifyCallOptions extends SenderEvidence {
  /** Scopes required in addition to the verifier's `requiredScopes`. */
  requiredScopes?: readonly string[];
}

/** Anything with fetch-style headers: a `Request`, or a host's request object wrapping one. */
export interface RequestLike {
  readonly headers: { get(name: string): string | null };
  /** With `url`, lets `verify` check DPoP proofs (RFC 9449 §4.3 `htm`, `htu`). */
  readonly method?: string;
  /** The absolute request URL, as a fetch `Request` has it. */
  readonly url?: string;
}

/** A configured verifier. Create with {@link createVerifier}; stop background work with `close()`. */
export interface Verifier {
  /** Verifies the bearer token in a fetch `Request`'s `Authorization` header. */
  verify(request: RequestLike, options?: VerifyCallOptions): Promise<VerifiedToken>;
  /** Verifies a token string (no `Bearer ` prefix). */
  verifyToken(token: string, options?: VerifyCallOptions): Promise<VerifiedToken>;
  /** Verifies the bearer token in an `Authorization` header value; what adapters call. */
  verifyAuthorization(
    header: string | readonly string[] | null | undefined,
    options?: VerifyCallOptions,
  ): Promise<VerifiedToken>;
  /** The response for a rejection, in the configured dialect (`errorShape`, default RFC 6750). */
  errorResponse(error: unknown): ErrorResponse;
  /** Stops the revocation feed's timer and empties the caches. Idempotent. */
  close(): void;
}

interface Entry {
  readonly verified: VerifiedToken;
  readonly scopeSet: ReadonlySet<string>;
}

/**
 * Creates a resource-server verifier for JWT access tokens (RFC 9068 §4) presented as bearer
 * tokens (RFC 6750).
 *
 * Checks, in order: the Authorization header syntax; `alg` against the allowlist and `typ`
 * against `at+jwt` before any key is touched; the signature with a key from the issuer's JWKS;
 * `iss`, `aud` and the RFC 9068 §2.2 required claims; `exp`/`nbf`/`iat` with the clock
 * tolerance; revocation (feed or introspection, when configured); the required scopes.
 * Verified tokens are cached (bounded LRU); every cache hit re-runs the time, revocation and
 * scope checks.
 *
 * Sender-constrained tokens (`cnf`): a DPoP-bound token (RFC 9449 §7) must come with the
 * `DPoP` scheme and a valid proof (method, URL, `iat`, `ath`, unused `jti`, key = `cnf.jkt`);
 * a certificate-bound token (RFC 8705 §3) with the certificate whose SHA-256 is
 * `cnf.x5t#S256` (`clientCertificate`).
 *
 * Does not check: `auth_time`/`acr`, DPoP server nonces, tokens in the query string or
 * body, or that a cached token's key is still published.
 *
 * @example
 * ```ts
 * const verifier = createVerifier({ issuer: 'https://auth.example.com', audience: 'https://api.example.com' })
 * const { claims } = await verifier.verify(request) // throws VerifierError
 * ```
 */
export function createVerifier(options: VerifierOptions): Verifier {
  return new TesseraVerifier(options);
}

class TesseraVerifier implements Verifier {
  readonly #options: ResolvedOptions;
  readonly #emit: VerifierEventListener | undefined;
  readonly #shape: ErrorShape;
  readonly #tokens: LruCache<string, Entry>;
  readonly #senders: SenderConstraints;
  readonly #backendPromise: Promise<SignatureBackend>;
  #backend: SignatureBackend | undefined;
  #jwks: JwksCache | undefined;
  readonly #feed: RevocationFeed | undefined;
  readonly #introspector: Introspector | undefined;

  constructor(options: VerifierOptions) {
    const resolved = resolveOptions(options);
    this.#options = resolved;
    this.#emit = safeEmitter(options.onEvent);
    this.#shape = options.errorShape ?? rfc6750ErrorShape;
    this.#tokens = new LruCache(resolved.tokenCacheSize);
    this.#senders = new SenderConstraints(resolved.now, 100_000, options.dpopReplayGuard);
    this.#backendPromise = loadSignatureBackend(resolved.signatureBackend).then((backend) => {
      this.#backend = backend;
      return backend;
    });
    const deps = {
      fetch: resolved.fetch,
      now: resolved.now,
      timeoutMs: resolved.httpTimeoutMs,
      emit: this.#emit,
    };
    if (options.revocationFeed !== undefined) {
      const interval = options.revocationFeed.intervalMs ?? defaults.revocationIntervalMs;
      this.#feed = new RevocationFeed(options.revocationFeed, interval, {
        ...deps,
        clockTolerance: resolved.clockTolerance,
      });
    }
    if (options.introspection !== undefined) {
      const cacheSeconds = options.introspection.cacheSeconds ?? defaults.introspectionCacheSeconds;
      this.#introspector = new Introspector(options.introspection, cacheSeconds, {
        ...deps,
        cacheSize: resolved.tokenCacheSize,
        issuer: resolved.issuer,
        verifySigned: (jwt) => this.#verifyIntrospectionJwt(jwt),
      });
    }
  }

  async verify(request: RequestLike, options?: VerifyCallOptions): Promise<VerifiedToken> {
    const withDpop: VerifyCallOptions | undefined =
      options?.dpop === undefined && request.method !== undefined && request.url !== undefined
        ? {
            ...options,
            dpop: { method: request.method, url: request.url, proof: request.headers.get('dpop') },
          }
        : options;
    return this.verifyAuthorization(request.headers.get('authorization'), withDpop);
  }

  async verifyAuthorization(
    header: string | readonly string[] | null | undefined,
    options?: VerifyCallOptions,
  ): Promise<VerifiedToken> {
    let presented: { scheme: 'Bearer' | 'DPoP'; token: string };
    try {
      presented = extractAccessToken(header);
    } catch (error) {
      throw this.#reject(error, false);
    }
    return this.#verify(presented.token, presented.scheme, options);
  }

  async verifyToken(token: string, options?: VerifyCallOptions): Promise<VerifiedToken> {
    return this.#verify(token, undefined, options);
  }

  async #verify(
    token: string,
    scheme: 'Bearer' | 'DPoP' | undefined,
    options: VerifyCallOptions | undefined,
  ): Promise<VerifiedToken> {
    let entry: Entry | undefined;
    let cached = false;
    try {
      entry = this.#tokens.get(token);
      cached = entry !== undefined;
      if (entry === undefined) {
        entry = await this.#verifyNew(token);
      } else {
        const late = checkTime(
          entry.verified.claims,
          this.#options.now(),
          this.#options.clockTolerance,
        );
        if (late !== undefined) {
          this.#tokens.delete(token);
          throw new VerifierError(late);
        }
      }
      await this.#checkLiveness(token, entry.verified.claims);
      await this.#senders.check(token, entry.verified.claims, scheme, options);
      this.#checkScopes(entry, options?.requiredScopes);
    } catch (error) {
      throw this.#reject(error, cached);
    }
    this.#emit?.({ type: 'token_accepted', cached });
    return entry.verified;
  }

  errorResponse(error: unknown): ErrorResponse {
    return this.#shape(
      error instanceof VerifierError
        ? error
        : new VerifierError('internal', { realm: this.#options.realm, cause: error }),
    );
  }

  close(): void {
    this.#feed?.close();
    this.#tokens.clear();
    this.#senders.clear();
  }

  /** RFC 9701: an introspection answer JWT, signed by the same keys as the access tokens. */
  async #verifyIntrospectionJwt(jwt: string): Promise<Record<string, unknown>> {
    const backend = this.#backend ?? (await this.#backendPromise);
    const { algorithms } = this.#options;
    const jws = parseJws(jwt, algorithms, 64 * 1024, backend, isIntrospectionType);
    const jwks = this.#jwksCache(backend);
    const key = jwks.peek(jws.alg, jws.kid) ?? (await jwks.getKey(jws.alg, jws.kid));
    const valid = backend.verify(jws.alg, key, jwt, jws.dot1, jws.dot2);
    if (valid !== true && (valid === false || !(await valid))) throw new VerifierError('signature');
    return parsePayload(jws, backend);
  }

  #jwksCache(backend: SignatureBackend): JwksCache {
    const { issuer } = this.#options;
    return (this.#jwks ??= new JwksCache(
      {
        issuer,
        jwksUri: this.#options.jwksUri,
        fetch: this.#options.fetch,
        now: this.#options.now,
        cooldownMs: this.#options.jwksCooldownMs,
        defaultMaxAgeMs: this.#options.jwksDefaultMaxAgeMs,
        maxAgeCapMs: this.#options.jwksMaxAgeCapMs,
        timeoutMs: this.#options.httpTimeoutMs,
        emit: this.#emit,
      },
      backend,
    ));
  }

  async #verifyNew(token: string): Promise<Entry> {
    const backend = this.#backend ?? (await this.#backendPromise);
    const { algorithms, maxTokenLength, issuer, audiences } = this.#options;
    const jws = parseJws(token, algorithms, maxTokenLength, backend);
    const jwks = this.#jwksCache(backend);
    const key = jwks.peek(jws.alg, jws.kid) ?? (await jwks.getKey(jws.alg, jws.kid));
    const valid = backend.verify(jws.alg, key, token, jws.dot1, jws.dot2);
    if (valid !== true && (valid === false || !(await valid))) throw new VerifierError('signature');
    const checked = checkClaims(parsePayload(jws, backend), issuer, audiences);
    const late = checkTime(checked.payload, this.#options.now(), this.#options.clockTolerance);
    if (late !== undefined) throw new VerifierError(late);
    const verified: VerifiedToken = Object.freeze({
      claims: checked.payload,
      scopes: checked.scopes,
      header: Object.freeze({ alg: jws.alg, kid: jws.kid, typ: jws.typ }),
    });
    const entry = { verified, scopeSet: checked.scopeSet };
    this.#tokens.set(token, entry);
    return entry;
  }

  async #checkLiveness(token: string, claims: AccessTokenPayload): Promise<void> {
    const feed = this.#feed;
    if (feed !== undefined) {
      if (!feed.synced) {
        await feed.firstAttempt();
        // Fail closed: until the feed answered once, a revoked token cannot be told apart.
        if (!feed.synced)
          throw new VerifierError('unavailable', {
            detail: 'revocation feed not yet synchronised',
          });
      }
      if (feed.isRevoked(claims.jti)) throw new VerifierError('revoked');
    }
    if (this.#introspector !== undefined) await this.#introspector.check(token, claims.exp);
  }

  #checkScopes(entry: Entry, extra: readonly string[] | undefined): void {
    const base = this.#options.requiredScopes;
    const required =
      extra === undefined || extra.length === 0 ? base : [...new Set([...base, ...extra])];
    for (const scope of required) {
      if (!entry.scopeSet.has(scope))
        throw new VerifierError('insufficient_scope', { scope: required });
    }
  }

  /** Attaches the realm, turns unexpected exceptions into `internal`, and reports the rejection. */
  #reject(error: unknown, cached: boolean): VerifierError {
    const realm = this.#options.realm;
    const bound =
      error instanceof VerifierError
        ? new VerifierError(error.reason, {
            realm,
            scope: error.scope,
            detail: error.detail,
            cause: error.cause,
          })
        : new VerifierError('internal', { realm, cause: error });
    this.#emit?.({ type: 'token_rejected', reason: bound.reason, cached });
    return bound;
  }
}
