import { dpopSigningAlgorithms, OAuthError } from '@tessera/protocol';

/**
 * Error codes the verifier puts on the wire: RFC 6750 §3.1 plus `temporarily_unavailable`
 * (keys, revocation feed or introspection endpoint unreachable) and `server_error`
 * (a bug; never carries detail).
 */
export type VerifierErrorCode =
  | 'invalid_request'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_dpop_proof'
  | 'temporarily_unavailable'
  | 'server_error';

/**
 * Why a request was refused, finer than the wire code. Presets and `onEvent` listeners
 * switch on this rather than on description text.
 */
export type VerifierErrorReason =
  | 'missing_token'
  | 'malformed_header'
  | 'multiple_tokens'
  | 'malformed'
  | 'algorithm'
  | 'type'
  | 'unknown_key'
  | 'signature'
  | 'issuer'
  | 'audience'
  | 'expired'
  | 'not_yet_valid'
  | 'revoked'
  | 'inactive'
  | 'insufficient_scope'
  | 'dpop_proof'
  | 'dpop_required'
  | 'certificate_mismatch'
  | 'unavailable'
  | 'internal';

interface ReasonSpec {
  readonly error: VerifierErrorCode;
  readonly status: number;
  /** `undefined` only for `missing_token`: RFC 6750 §3.1 says no error code then. */
  readonly description: string | undefined;
}

/** The fixed mapping of reasons to wire code, status and public description. */
export const reasons: Readonly<Record<VerifierErrorReason, ReasonSpec>> = {
  missing_token: { error: 'invalid_request', status: 401, description: undefined },
  malformed_header: {
    error: 'invalid_request',
    status: 400,
    description: 'The Authorization header is malformed',
  },
  multiple_tokens: {
    error: 'invalid_request',
    status: 400,
    description: 'The request carries more than one access token',
  },
  malformed: { error: 'invalid_token', status: 401, description: 'The access token is malformed' },
  algorithm: {
    error: 'invalid_token',
    status: 401,
    description: 'The access token algorithm is not accepted',
  },
  type: {
    error: 'invalid_token',
    status: 401,
    description: 'The access token type is not accepted',
  },
  unknown_key: {
    error: 'invalid_token',
    status: 401,
    description: 'The access token signing key is unknown',
  },
  signature: {
    error: 'invalid_token',
    status: 401,
    description: 'The access token signature is invalid',
  },
  issuer: {
    error: 'invalid_token',
    status: 401,
    description: 'The access token issuer is not accepted',
  },
  audience: {
    error: 'invalid_token',
    status: 401,
    description: 'The access token audience is not accepted',
  },
  expired: { error: 'invalid_token', status: 401, description: 'The access token expired' },
  not_yet_valid: {
    error: 'invalid_token',
    status: 401,
    description: 'The access token is not yet valid',
  },
  revoked: {
    error: 'invalid_token',
    status: 401,
    description: 'The access token has been revoked',
  },
  inactive: { error: 'invalid_token', status: 401, description: 'The access token is not active' },
  insufficient_scope: {
    error: 'insufficient_scope',
    status: 403,
    description: 'The request requires higher privileges than provided by the access token',
  },
  // RFC 9449 §7.1: a missing or bad proof for a DPoP-bound token.
  dpop_proof: {
    error: 'invalid_dpop_proof',
    status: 401,
    description: 'The DPoP proof is invalid',
  },
  dpop_required: {
    error: 'invalid_token',
    status: 401,
    description: 'The access token must be presented with the DPoP scheme and a DPoP proof',
  },
  // RFC 8705 §3: the token is bound to a certificate the connection did not present.
  certificate_mismatch: {
    error: 'invalid_token',
    status: 401,
    description: 'The access token is bound to another client certificate',
  },
  unavailable: {
    error: 'temporarily_unavailable',
    status: 503,
    description: 'The token verifier is temporarily unavailable',
  },
  internal: {
    error: 'server_error',
    status: 500,
    description: 'The token verifier failed unexpectedly',
  },
};

/** What an adapter writes back: status, headers (lower-case names) and an optional JSON body. */
export interface ErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown> | undefined;
}

/** A function that turns a verifier error into the response a provider dialect expects. */
export type ErrorShape = (error: VerifierError) => ErrorResponse;

export interface VerifierErrorOptions {
  /** RFC 6750 §3 `realm` for the challenge. */
  realm?: string;
  /** For `insufficient_scope`: the scopes the resource needs (RFC 6750 §3 `scope`). */
  scope?: readonly string[];
  /** Private detail for the host's logs; never serialized. Never contains a token. */
  detail?: string;
  cause?: unknown;
}

/**
 * A refusal to accept a request, as RFC 6750 §3 describes it.
 *
 * `error`, `status` and `description` are public and fixed per {@link VerifierErrorReason};
 * they never contain the token, a secret or claim values. {@link VerifierError.toResponse}
 * produces the RFC 6750 response; presets produce other dialects from the same error.
 *
 * @example
 * ```ts
 * try { await verifier.verify(request) }
 * catch (err) { if (err instanceof VerifierError) return err.toResponse() }
 * ```
 */
export class VerifierError extends OAuthError {
  declare readonly error: VerifierErrorCode;
  readonly reason: VerifierErrorReason;
  readonly realm: string | undefined;
  readonly scope: readonly string[] | undefined;

  constructor(reason: VerifierErrorReason, options: VerifierErrorOptions = {}) {
    const spec = reasons[reason];
    super(spec.error, spec.description ?? 'The request carries no access token', {
      status: spec.status,
      detail: options.detail,
      cause: options.cause,
    });
    this.name = 'VerifierError';
    this.reason = reason;
    this.realm = options.realm;
    this.scope = options.scope;
  }

  /** The RFC 6750 §3 `WWW-Authenticate` challenge for this error, or `undefined` for 5xx. */
  challenge(): string | undefined {
    if (this.status >= 500) return undefined;
    const params: string[] = [];
    if (this.realm !== undefined) params.push(`realm="${quote(this.realm)}"`);
    if (this.reason !== 'missing_token') {
      params.push(`error="${this.error}"`, `error_description="${this.description}"`);
      if (this.scope !== undefined && this.scope.length > 0)
        params.push(`scope="${quote(this.scope.join(' '))}"`);
    }
    // RFC 9449 §7.1: DPoP failures challenge with the DPoP scheme and the accepted algorithms.
    if (this.reason === 'dpop_proof' || this.reason === 'dpop_required') {
      return `DPoP ${[...params, `algs="${dpopSigningAlgorithms.join(' ')}"`].join(', ')}`;
    }
    return params.length === 0 ? 'Bearer' : `Bearer ${params.join(', ')}`;
  }

  /**
   * The RFC 6750 §3 response: status, `WWW-Authenticate` challenge, `Cache-Control: no-store`
   * and, except for a missing token, the body `{error, error_description}`.
   */
  toResponse(): ErrorResponse {
    const headers: Record<string, string> = { 'cache-control': 'no-store' };
    const challenge = this.challenge();
    if (challenge !== undefined) headers['www-authenticate'] = challenge;
    if (this.reason === 'missing_token') return { status: this.status, headers, body: undefined };
    headers['content-type'] = 'application/json';
    return {
      status: this.status,
      headers,
      body: { error: this.error, error_description: this.description },
    };
  }
}

/** The default {@link ErrorShape}: RFC 6750 §3. */
export const rfc6750ErrorShape: ErrorShape = (error) => error.toResponse();

/**
 * Library misuse (bad options). Thrown by `createVerifier`, never sent on the wire.
 * `option` names the offending option.
 */
export class VerifierConfigError extends Error {
  readonly code = 'ERR_TESSERA_VERIFIER_CONFIG';
  readonly option: string;

  constructor(option: string, message: string) {
    super(`${option}: ${message}`);
    this.name = 'VerifierConfigError';
    this.option = option;
  }
}

// RFC 7235 quoted-string: escape the two characters that could end or break it.
function quote(value: string): string {
  return value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]/g, ' ');
}
