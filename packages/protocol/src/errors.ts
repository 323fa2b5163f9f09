/**
 * Error codes that travel on the wire, exactly as the RFCs spell them.
 *
 * - RFC 6749 §5.2 (token endpoint)
 * - RFC 7009 §2.2.1 (`unsupported_token_type`)
 * - RFC 6750 §3.1 (`invalid_token`, `insufficient_scope`)
 * - RFC 8707 §2 (`invalid_target`)
 * - RFC 9449 §5 (`invalid_dpop_proof`)
 */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'unsupported_token_type'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'invalid_dpop_proof'
  // RFC 9449 §8: the proof must carry the server's nonce (DPoP-Nonce header).
  | 'use_dpop_nonce'
  | 'access_denied'
  | 'temporarily_unavailable'
  | 'slow_down'
  | 'server_error'
  // RFC 7591 §3.2.2, used by the admin API's client registration.
  | 'invalid_client_metadata'
  // Tessera admin API.
  | 'not_found'
  | 'conflict'
  | 'service_unavailable';

/** The HTTP status each code maps to unless an endpoint says otherwise. */
export const defaultStatus: Readonly<Record<OAuthErrorCode, number>> = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  unsupported_token_type: 400,
  invalid_token: 401,
  insufficient_scope: 403,
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
  access_denied: 403,
  temporarily_unavailable: 503,
  slow_down: 429,
  server_error: 500,
  invalid_client_metadata: 400,
  not_found: 404,
  conflict: 409,
  service_unavailable: 503,
};

export interface OAuthErrorOptions {
  /** HTTP status; defaults to {@link defaultStatus} for the code. */
  status?: number;
  /** Extra response headers (e.g. `WWW-Authenticate`, `Retry-After`). */
  headers?: Record<string, string>;
  /** Private detail for logs only; never sent to the peer. */
  detail?: string;
  cause?: unknown;
}

/**
 * An error that goes on the wire as `{error, error_description}` (RFC 6749 §5.2).
 *
 * The description is public: it must never contain a secret or a token. Anything private
 * belongs in `detail`, which only reaches the logs.
 */
export class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly detail: string | undefined;

  constructor(error: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}) {
    super(description, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OAuthError';
    this.error = error;
    this.status = options.status ?? defaultStatus[error];
    this.headers = options.headers ?? {};
    this.detail = options.detail;
  }

  /** The public description, restricted to RFC 6749's allowed characters. */
  get description(): string {
    return sanitizeErrorDescription(this.message);
  }

  toJSON(): { error: OAuthErrorCode; error_description: string } {
    return { error: this.error, error_description: this.description };
  }
}

/**
 * RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B / %x5D-7E. Anything else
 * (CR, LF, quotes, backslashes, non-ASCII) is replaced so a description can never split a
 * header or smuggle markup.
 */
export function sanitizeErrorDescription(text: string): string {
  return text.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?');
}
