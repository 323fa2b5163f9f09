import { OAuthError } from '@tessera/protocol';

/**
 * Why a client authentication failed, finer than the wire code (which is `invalid_client`
 * for all but `locked_out`, so that RFC 6749 §5.2's "unknown client" and "wrong secret" look
 * the same to the caller). Metrics, logs and the failure limiter switch on this, never on
 * message text. Modelled on the verifier's `VerifierErrorReason` table.
 */
export type ClientAuthFailureReason =
  | 'no_credentials'
  | 'malformed_basic'
  | 'unknown_client'
  | 'wrong_secret'
  | 'disabled'
  | 'method_not_allowed'
  | 'assertion_malformed'
  | 'assertion_no_keys'
  | 'assertion_rejected'
  | 'assertion_audience'
  | 'assertion_lifetime'
  | 'assertion_jti_missing'
  | 'assertion_replayed'
  | 'federated_rejected'
  | 'federated_issuer_unavailable'
  | 'certificate_untrusted'
  | 'certificate_subject'
  | 'certificate_unregistered'
  | 'locked_out';

/** `reason` label values of `tessera_client_auth_failures_total` (documented in the README). */
export type AuthFailureLabel =
  | 'unknown_client'
  | 'wrong_secret'
  | 'client_disabled'
  | 'auth_method_not_allowed'
  | 'no_credentials'
  | 'malformed_credentials'
  | 'locked_out';

interface FailureSpec {
  /** The `tessera_client_auth_failures_total` label: coarser, and stable for dashboards. */
  readonly metric: AuthFailureLabel;
  /** Whether the failure counts toward the failure limiter's lockout. */
  readonly lockout: boolean;
  /** What happened, in one line (the log's `reason` says it by name). */
  readonly doc: string;
}

/** The fixed mapping of reasons to metric label, lockout and meaning. */
export const clientAuthFailures: Readonly<Record<ClientAuthFailureReason, FailureSpec>> = {
  no_credentials: {
    metric: 'no_credentials',
    lockout: true,
    doc: 'neither a Basic header, client_secret, client_assertion nor certificate',
  },
  malformed_basic: {
    metric: 'malformed_credentials',
    lockout: true,
    doc: 'the Authorization header is not Basic base64(id:secret) with both parts',
  },
  unknown_client: { metric: 'unknown_client', lockout: true, doc: 'no such client_id' },
  wrong_secret: { metric: 'wrong_secret', lockout: true, doc: 'no live secret matches' },
  disabled: { metric: 'client_disabled', lockout: true, doc: 'the client is disabled' },
  method_not_allowed: {
    metric: 'auth_method_not_allowed',
    lockout: true,
    doc: 'the client (or the preset) is not registered for the method used',
  },
  assertion_malformed: {
    metric: 'malformed_credentials',
    lockout: true,
    doc: 'client_assertion is not a JWT whose iss and sub are the client_id',
  },
  assertion_no_keys: {
    metric: 'malformed_credentials',
    lockout: true,
    doc: 'the private_key_jwt client has no registered keys',
  },
  assertion_rejected: {
    metric: 'malformed_credentials',
    lockout: true,
    doc: 'the assertion signature, algorithm or time claims do not verify',
  },
  assertion_audience: {
    metric: 'malformed_credentials',
    lockout: true,
    doc: 'the assertion aud is not the issuer',
  },
  assertion_lifetime: {
    metric: 'malformed_credentials',
    lockout: true,
    doc: 'the assertion exp is too far in the future',
  },
  assertion_jti_missing: {
    metric: 'malformed_credentials',
    lockout: true,
    doc: 'the assertion has no usable jti',
  },
  assertion_replayed: {
    metric: 'malformed_credentials',
    lockout: true,
    doc: 'the assertion jti was already used',
  },
  federated_rejected: {
    metric: 'malformed_credentials',
    lockout: true,
    doc: 'the workload JWT of a federated client does not verify',
  },
  federated_issuer_unavailable: {
    metric: 'malformed_credentials',
    lockout: false,
    doc: "a federated client's issuer did not answer usably (fail closed)",
  },
  certificate_untrusted: {
    metric: 'malformed_credentials',
    lockout: true,
    doc: 'the client certificate does not chain to a trusted client CA',
  },
  certificate_subject: {
    metric: 'malformed_credentials',
    lockout: true,
    doc: 'the client certificate subject is not the registered one',
  },
  certificate_unregistered: {
    metric: 'malformed_credentials',
    lockout: true,
    doc: 'the client certificate is not one the client registered',
  },
  locked_out: {
    metric: 'locked_out',
    lockout: false,
    doc: 'refused unchecked: too many failures of this client_id from here, or from here',
  },
};

/** RFC 6749 §5.2: the challenge for a client that authenticated with the Authorization header. */
export const basicRealm = 'Basic realm="tessera", charset="UTF-8"';

export interface ClientAuthErrorOptions {
  /** Whether the client used the Authorization header (then it gets a `Basic` challenge). */
  usedAuthorizationHeader?: boolean;
  /** Response headers instead of the default challenge (`Retry-After` of a lockout). */
  headers?: Record<string, string>;
  /** HTTP status other than `invalid_client`'s 401 (429 for a lockout). */
  status?: number;
  /** Private detail for logs only; never sent. */
  detail?: string;
  cause?: unknown;
}

/**
 * A refused client authentication. On the wire it is `invalid_client` ("Client
 * authentication failed", the same for every reason) or, for `locked_out`,
 * `temporarily_unavailable`; `reason` says why, for metrics, logs and the failure limiter.
 */
export class ClientAuthError extends OAuthError {
  readonly reason: ClientAuthFailureReason;

  constructor(
    reason: ClientAuthFailureReason,
    options: ClientAuthErrorOptions = {},
    description = 'Client authentication failed',
  ) {
    super(reason === 'locked_out' ? 'temporarily_unavailable' : 'invalid_client', description, {
      headers:
        options.headers ??
        (options.usedAuthorizationHeader ? { 'www-authenticate': basicRealm } : {}),
      ...(options.status === undefined ? {} : { status: options.status }),
      ...(options.detail === undefined ? {} : { detail: options.detail }),
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
    this.name = 'ClientAuthError';
    this.reason = reason;
  }
}

/**
 * The one answer for every failed client authentication: unknown client, wrong secret,
 * disabled client and wrong method look identical (RFC 6749 §5.2); only `reason` differs.
 */
export function invalidClient(
  usedAuthorizationHeader: boolean,
  reason: Exclude<ClientAuthFailureReason, 'locked_out'>,
  detail?: string,
): ClientAuthError {
  return new ClientAuthError(reason, {
    usedAuthorizationHeader,
    ...(detail === undefined ? {} : { detail }),
  });
}

/** The reason of a client authentication failure, `undefined` for any other error. */
export function clientAuthFailureOf(error: unknown): ClientAuthFailureReason | undefined {
  return error instanceof ClientAuthError ? error.reason : undefined;
}
