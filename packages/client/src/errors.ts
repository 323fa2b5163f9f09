/**
 * Stable codes for {@link TokenClientError}. They never change meaning between versions.
 *
 * - `token_endpoint_error`: the token endpoint answered with an error (RFC 6749 §5.2).
 * - `token_endpoint_unreachable`: network error or timeout talking to the token endpoint.
 * - `invalid_token_response`: a 2xx answer that is not a usable RFC 6749 §5.1 response.
 * - `discovery_failed`: RFC 8414 metadata could not be fetched or did not validate.
 * - `resource_rejected_token`: a resource rejected a freshly obtained token too.
 * - `revocation_failed`: the RFC 7009 (or preset) revocation call failed.
 * - `client_closed`: the client was closed while, or before, the call ran.
 * - `invalid_option`: the client was configured or called incorrectly (library misuse).
 */
export type TokenClientErrorCode =
  | 'token_endpoint_error'
  | 'token_endpoint_unreachable'
  | 'invalid_token_response'
  | 'discovery_failed'
  | 'resource_rejected_token'
  | 'revocation_failed'
  | 'client_closed'
  | 'invalid_option';

/** What a {@link TokenClientError} may carry besides its code and message. */
export interface TokenClientErrorDetails {
  /** The OAuth error code from the peer (`invalid_client`, …), when it sent one. */
  error?: string;
  /** The peer's `error_description` (or its dialect's message), redacted of the secret. */
  error_description?: string;
  /** HTTP status of the answer that caused the error. */
  status?: number;
  /** Milliseconds the peer asked us to wait (`Retry-After`), when it said so. */
  retryAfterMs?: number;
  /** The option at fault, for `invalid_option`. */
  option?: string;
  /** `{ body }` of the peer's answer (redacted), or the underlying error. */
  cause?: unknown;
}

/**
 * Every error the token client throws or emits. Switch on {@link TokenClientError.code};
 * for token endpoint errors also on {@link TokenClientError.error} (the RFC 6749 §5.2 code).
 *
 * Never carries the client secret: response bodies are redacted before they are attached,
 * and request bodies or `Authorization` headers are never attached at all.
 *
 * @example
 * ```ts
 * try { await client.getToken() } catch (e) {
 *   if (e instanceof TokenClientError && e.error === 'invalid_client') alertOps()
 * }
 * ```
 */
export class TokenClientError extends Error {
  readonly code: TokenClientErrorCode;
  readonly error: string | undefined;
  readonly error_description: string | undefined;
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;
  readonly option: string | undefined;

  constructor(code: TokenClientErrorCode, message: string, details: TokenClientErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.error = details.error;
    this.error_description = details.error_description;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
    this.option = details.option;
  }

  /** A log-friendly view; the cause's body is included because it is already redacted. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      error: this.error,
      error_description: this.error_description,
      status: this.status,
      retryAfterMs: this.retryAfterMs,
      option: this.option,
    };
  }
}

/** The token endpoint failed: an error answer, a network failure or an unusable response. */
export class TokenEndpointError extends TokenClientError {}

/** A resource kept rejecting the token after one renewal and replay (RFC 6750 §3.1). */
export class ResourceRejectedTokenError extends TokenClientError {}

/** RFC 8414 discovery failed. */
export class DiscoveryError extends TokenClientError {}

/** RFC 7009 (or preset) revocation failed. */
export class RevocationError extends TokenClientError {}

/** The client was closed. */
export class ClientClosedError extends TokenClientError {
  constructor() {
    super('client_closed', 'the token client is closed');
  }
}

/** Library misuse: a missing or invalid option. The message names the option. */
export class InvalidOptionError extends TokenClientError {
  constructor(option: string, message: string) {
    super('invalid_option', `${option}: ${message}`, { option });
  }
}
