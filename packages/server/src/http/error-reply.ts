import { OAuthError } from '@tessera/protocol';
import type { Logger } from 'pino';
import type { Params } from './parse-params.js';
import type { ErrorReply, Preset } from '../presets/preset.js';
import { StoreUnavailableError, StoreWritesRefusedError } from '../store/errors.js';

/** RFC 6749 §5.1: token endpoint responses must not be cached; errors neither. */
export const noStoreHeaders: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  pragma: 'no-cache',
};

interface HttpError {
  statusCode?: number;
  code?: string;
}

/**
 * Turns anything thrown while handling a request into an OAuthError: protocol errors pass
 * through, HTTP framework errors (body too large, bad media type) become invalid_request
 * with their status, and anything else becomes a generic server_error.
 */
export function toOAuthError(error: unknown): OAuthError {
  if (error instanceof OAuthError) return error;
  // The storage refuses writes (full disk, read-only): say why; nothing was acknowledged.
  if (error instanceof StoreWritesRefusedError) {
    const description = `The database refuses writes (${error.reason}); try again later`;
    const options = { headers: { 'retry-after': '30' }, detail: error.message };
    return new OAuthError('temporarily_unavailable', description, options);
  }
  // The database is down or restarting: the write was not acknowledged and may be retried.
  if (error instanceof StoreUnavailableError) {
    return new OAuthError('temporarily_unavailable', 'The database is unavailable; try again', {
      headers: { 'retry-after': '1' },
      detail: error.message,
    });
  }
  const httpError = error as HttpError;
  const status = httpError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    switch (httpError.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return new OAuthError('invalid_request', 'The request body is too large', { status: 413 });
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return new OAuthError('invalid_request', 'Unsupported Content-Type', { status: 400 });
      default:
        return new OAuthError('invalid_request', 'The request is malformed', {
          status: status === 415 ? 400 : status,
          detail: String(httpError.code ?? ''),
        });
    }
  }
  return new OAuthError('server_error', 'The server encountered an unexpected condition', {
    detail: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
}

/** The single place where errors become responses (optionally in a preset's shape). */
export function errorReply(
  error: OAuthError,
  preset: Preset | undefined,
  requestId: string,
  params?: Params,
): ErrorReply {
  if (preset?.errorShape) {
    const shaped = preset.errorShape(error, { requestId, params });
    return { ...shaped, headers: { ...noStoreHeaders, ...shaped.headers } };
  }
  return {
    status: error.status,
    headers: { ...noStoreHeaders, ...error.headers },
    body: error.toJSON(),
  };
}

/**
 * Logs a refusal: unexpected errors at error level with their stack, protocol refusals with
 * their private detail at info. `log` is called only when there is something to write.
 */
function logRefusal(error: OAuthError, log: () => Pick<Logger, 'error' | 'info'>): void {
  if (error.error === 'server_error') {
    log().error({ detail: error.detail }, 'unexpected error');
  } else if (error.detail) {
    // A typed reason (client authentication, verifier) is logged by name, not by its text.
    const reason = 'reason' in error && typeof error.reason === 'string' ? error.reason : undefined;
    log().info({ error: error.error, reason, detail: error.detail }, 'request refused');
  }
}

/**
 * Everything a refused request gets, on either host (Fastify's error handler and the token
 * listener): the thrown value as an OAuthError, logged, shaped into a reply.
 */
export function refusal(
  thrown: unknown,
  preset: Preset | undefined,
  requestId: string,
  params: Params | undefined,
  log: () => Pick<Logger, 'error' | 'info'>,
): { error: OAuthError; reply: ErrorReply } {
  const error = toOAuthError(thrown);
  logRefusal(error, log);
  return { error, reply: errorReply(error, preset, requestId, params) };
}
