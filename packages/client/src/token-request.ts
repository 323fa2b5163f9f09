import type { ProviderDialect } from './dialect.js';
import { ClientClosedError, TokenEndpointError } from './errors.js';
import type { Emitter, TokenClientEventMap, TokenTarget } from './events.js';
import { basicCredential } from './lib/basic.js';
import type { AuthMethod } from './options.js';
import {
  backoffDelay,
  isRetryableStatus,
  nonRetryableErrors,
  parseRetryAfter,
  type RetryPolicy,
} from './retry.js';

/** Everything a token request needs that does not change between calls. */
export interface TokenRequestContext {
  clientId: string;
  clientSecret: string;
  authMethod: AuthMethod;
  dialect: ProviderDialect;
  retry: RetryPolicy;
  timeoutMs: number;
  defaultExpiresInSeconds: number;
  fetch: typeof fetch;
  now: () => number;
  random: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  signal: AbortSignal;
  events: Emitter<TokenClientEventMap>;
  redact: (text: string) => string;
}

/** A successful RFC 6749 §5.1 response, normalised. */
export interface IssuedToken {
  accessToken: string;
  tokenType: string;
  scope: string | undefined;
  /** Seconds, as the server sent it (or the configured default). */
  expiresIn: number;
  /** When the request was sent (ms). */
  obtainedAt: number;
}

/** Builds the token request headers and body (RFC 6749 §4.4.2 and §2.3.1, per dialect). */
export function buildTokenRequest(
  ctx: Pick<TokenRequestContext, 'clientId' | 'clientSecret' | 'authMethod' | 'dialect'>,
  target: TokenTarget,
): { headers: Record<string, string>; body: URLSearchParams | FormData } {
  const params: [string, string][] = [['grant_type', 'client_credentials']];
  const headers: Record<string, string> = { accept: 'application/json' };
  if (ctx.authMethod === 'client_secret_basic') {
    headers['authorization'] = basicCredential(
      ctx.clientId,
      ctx.clientSecret,
      ctx.dialect.basicCredentialEncoding,
    );
  } else {
    params.push(['client_id', ctx.clientId], ['client_secret', ctx.clientSecret]);
  }
  if (target.scope !== '') params.push(['scope', target.scope]);
  if (target.audience !== undefined) params.push(['audience', target.audience]);
  if (target.resource !== undefined) params.push(['resource', target.resource]);
  if (ctx.dialect.tokenRequestEncoding === 'multipart') {
    // fetch sets the multipart boundary itself.
    const form = new FormData();
    for (const [k, v] of params) form.append(k, v);
    return { headers, body: form };
  }
  headers['content-type'] = 'application/x-www-form-urlencoded';
  return { headers, body: new URLSearchParams(params) };
}

/**
 * Requests a token, retrying 5xx, 429 and network errors with full-jitter backoff and
 * honouring `Retry-After`. `invalid_client`, `invalid_grant`, `invalid_scope` and
 * `unauthorized_client` are never retried, whatever the status.
 */
export async function requestToken(
  ctx: TokenRequestContext,
  target: TokenTarget,
): Promise<IssuedToken> {
  for (let retry = 0; ; retry++) {
    if (ctx.signal.aborted) throw new ClientClosedError();
    ctx.events.emit('request', { ...target, attempt: retry + 1 });
    const { headers, body } = buildTokenRequest(ctx, target);
    const obtainedAt = ctx.now();
    let failure: TokenEndpointError;
    let retryable: boolean;
    try {
      const response = await ctx.fetch(target.tokenEndpoint, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.timeoutMs)]),
      });
      const text = await response.text();
      if (response.ok) return parseTokenResponse(ctx, text, response.status, obtainedAt);
      failure = endpointError(ctx, response, ctx.redact(text));
      retryable =
        isRetryableStatus(response.status) && !nonRetryableErrors.has(failure.error ?? '');
    } catch (error) {
      if (ctx.signal.aborted) throw new ClientClosedError();
      if (error instanceof TokenEndpointError) throw error;
      failure = new TokenEndpointError('token_endpoint_unreachable', 'token endpoint unreachable', {
        cause: error,
      });
      retryable = true;
    }
    if (!retryable || retry >= ctx.retry.maxRetries) throw failure;
    const delayMs = failure.retryAfterMs ?? backoffDelay(retry, ctx.retry, ctx.random);
    // A server asking for a longer pause than we are willing to wait gets it, via the negative cache.
    if (delayMs > ctx.retry.maxDelayMs) throw failure;
    ctx.events.emit('retry', {
      ...target,
      attempt: retry + 1,
      delayMs,
      status: failure.status,
      error: failure,
    });
    await ctx.sleep(delayMs, ctx.signal);
  }
}

function endpointError(
  ctx: TokenRequestContext,
  response: Response,
  text: string,
): TokenEndpointError {
  const body = parseJson(text);
  const obj = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const error = typeof obj['error'] === 'string' ? obj['error'] : undefined;
  const nested =
    typeof obj['error'] === 'object' && obj['error'] !== null
      ? (obj['error'] as Record<string, unknown>)
      : {};
  const description = [obj['error_description'], obj['message'], nested['message']].find(
    (v): v is string => typeof v === 'string',
  );
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), ctx.now());
  return new TokenEndpointError(
    'token_endpoint_error',
    `token endpoint answered ${response.status}${error === undefined ? '' : ` ${error}`}`,
    {
      ...(error === undefined ? {} : { error }),
      ...(description === undefined ? {} : { error_description: description }),
      status: response.status,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      cause: { body: body ?? text },
    },
  );
}

function parseTokenResponse(
  ctx: TokenRequestContext,
  text: string,
  status: number,
  obtainedAt: number,
): IssuedToken {
  const body = parseJson(text) as Record<string, unknown> | undefined;
  const invalid = (why: string): TokenEndpointError => {
    // Redact only what goes into an error (redacting the success path would corrupt it),
    // and an access token in an unusable answer is not kept either.
    const redacted = ctx.redact(text);
    const parsed = parseJson(redacted);
    if (typeof parsed === 'object' && parsed !== null && 'access_token' in parsed) {
      (parsed as Record<string, unknown>)['access_token'] = '[REDACTED]';
    }
    return new TokenEndpointError('invalid_token_response', `token response ${why}`, {
      status,
      cause: { body: parsed ?? redacted },
    });
  };
  if (typeof body !== 'object' || body === null) throw invalid('is not a JSON object');
  const accessToken = body['access_token'];
  if (typeof accessToken !== 'string' || accessToken === '') throw invalid('has no access_token');
  const tokenType = body['token_type'] ?? 'Bearer';
  if (typeof tokenType !== 'string' || tokenType.toLowerCase() !== 'bearer')
    throw invalid('token_type is not Bearer');
  let expiresIn: number = ctx.defaultExpiresInSeconds;
  const raw = body['expires_in'];
  if (raw !== undefined && raw !== null) {
    // Some providers send "3600"; RFC 6749 §5.1 says a number.
    expiresIn = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : (raw as number);
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn))
      throw invalid('has an invalid expires_in');
  }
  const scope = typeof body['scope'] === 'string' ? body['scope'] : undefined;
  return { accessToken, tokenType: 'Bearer', scope, expiresIn, obtainedAt };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
