import type { ProviderDialect } from './dialect.js';
import { ClientClosedError, TokenClientError, TokenEndpointError } from './errors.js';
import type { Emitter, TokenClientEventMap, TokenTarget } from './events.js';
import { authenticateClient } from './client-authentication.js';
import type { DpopProver } from './dpop.js';
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
  /** `''` for the methods that use no secret. */
  clientSecret: string;
  authMethod: AuthMethod;
  /** `private_key_jwt`: signs a fresh RFC 7523 assertion (the key stays in this closure). */
  clientAssertion: (() => Promise<string>) | undefined;
  /** DPoP (RFC 9449): the prover, imported on first use. */
  dpop: (() => Promise<DpopProver>) | undefined;
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
  /** `Bearer`, or `DPoP` for a DPoP-bound token (RFC 9449 §5). */
  tokenType: 'Bearer' | 'DPoP';
  scope: string | undefined;
  /** Seconds, as the server sent it (or the configured default). */
  expiresIn: number;
  /** When the request was sent (ms). */
  obtainedAt: number;
}

/**
 * Builds the token request headers and body (RFC 6749 §4.4.2, client authentication per
 * method, body per dialect). Called per attempt: an assertion is never sent twice.
 */
export async function buildTokenRequest(
  ctx: Pick<
    TokenRequestContext,
    'clientId' | 'clientSecret' | 'authMethod' | 'dialect' | 'clientAssertion'
  >,
  target: TokenTarget,
): Promise<{
  headers: Record<string, string>;
  body: URLSearchParams | FormData;
  assertion: string | undefined;
}> {
  const auth = await authenticateClient(ctx);
  const params: [string, string][] = [['grant_type', 'client_credentials'], ...auth.params];
  const headers: Record<string, string> = { accept: 'application/json', ...auth.headers };
  if (target.scope !== '') params.push(['scope', target.scope]);
  // RFC 8707: an audience that is an absolute URI goes out as the standard `resource`, which
  // standard servers honour (they silently ignore the non-standard `audience`, RFC 6749 §3.2,
  // and a token for the wrong audience would be cached). Other values stay `audience`.
  if (target.audience !== undefined)
    params.push([
      target.resource === undefined &&
      ctx.dialect.audienceParameter !== 'audience' &&
      isResourceIndicator(target.audience)
        ? 'resource'
        : 'audience',
      target.audience,
    ]);
  if (target.resource !== undefined) params.push(['resource', target.resource]);
  if (ctx.dialect.tokenRequestEncoding === 'multipart') {
    // fetch sets the multipart boundary itself.
    const form = new FormData();
    for (const [k, v] of params) form.append(k, v);
    return { headers, body: form, assertion: auth.assertion };
  }
  headers['content-type'] = 'application/x-www-form-urlencoded';
  return { headers, body: new URLSearchParams(params), assertion: auth.assertion };
}

/**
 * One token request, answered. With DPoP, a proof goes in the `DPoP` header, and a
 * `use_dpop_nonce` error carrying a new `DPoP-Nonce` (RFC 9449 §8) is answered by sending the
 * request once more with the nonce; it does not count as a retry.
 */
async function send(
  ctx: TokenRequestContext,
  target: TokenTarget,
  dpop: DpopProver | undefined,
): Promise<{ response: Response; text: string; redact: (text: string) => string }> {
  for (let nonceRetry = false; ; nonceRetry = true) {
    const { headers, body, assertion } = await buildTokenRequest(ctx, target);
    if (dpop !== undefined) headers['dpop'] = await dpop.proof('POST', target.tokenEndpoint);
    const response = await ctx.fetch(target.tokenEndpoint, {
      method: 'POST',
      headers,
      body,
      redirect: 'manual',
      signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(ctx.timeoutMs)]),
    });
    const text = await response.text();
    const freshNonce = dpop?.rememberNonce(target.tokenEndpoint, response) ?? false;
    if (
      !nonceRetry &&
      freshNonce &&
      response.status === 400 &&
      errorCodeOf(parseJson(text)) === 'use_dpop_nonce'
    )
      continue;
    const redact =
      assertion === undefined
        ? ctx.redact
        : (t: string) => ctx.redact(t).split(assertion).join('[REDACTED]');
    return { response, text, redact };
  }
}

function errorCodeOf(body: unknown): string | undefined {
  const error = (body as Record<string, unknown> | null | undefined)?.['error'];
  return typeof error === 'string' ? error : undefined;
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
  // Key import failures are option errors: thrown as is, never retried.
  const dpop = ctx.dpop === undefined ? undefined : await ctx.dpop();
  for (let retry = 0; ; retry++) {
    if (ctx.signal.aborted) throw new ClientClosedError();
    ctx.events.emit('request', { ...target, attempt: retry + 1 });
    const obtainedAt = ctx.now();
    let failure: TokenEndpointError;
    let retryable: boolean;
    try {
      const { response, text, redact } = await send(ctx, target, dpop);
      if (response.ok)
        return parseTokenResponse(ctx, redact, text, response.status, obtainedAt, dpop);
      failure = endpointError(ctx, response, redact(text));
      retryable =
        isRetryableStatus(response.status) && !nonRetryableErrors.has(failure.error ?? '');
    } catch (error) {
      if (ctx.signal.aborted) throw new ClientClosedError();
      // Option errors (an unusable key) and endpoint errors are final.
      if (error instanceof TokenClientError) throw error;
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
  redact: (text: string) => string,
  text: string,
  status: number,
  obtainedAt: number,
  dpop: DpopProver | undefined,
): IssuedToken {
  const body = parseJson(text) as Record<string, unknown> | undefined;
  const invalid = (why: string): TokenEndpointError => {
    // Redact only what goes into an error (redacting the success path would corrupt it),
    // and an access token in an unusable answer is not kept either.
    const redacted = redact(text);
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
  // RFC 9449 §5: a server without DPoP support may answer a proof with a Bearer token.
  const rawType = body['token_type'] ?? 'Bearer';
  const lowered = typeof rawType === 'string' ? rawType.toLowerCase() : undefined;
  const tokenType =
    lowered === 'bearer' ? 'Bearer' : lowered === 'dpop' && dpop !== undefined ? 'DPoP' : undefined;
  if (tokenType === undefined)
    throw invalid(
      dpop === undefined ? 'token_type is not Bearer' : 'token_type is not DPoP or Bearer',
    );
  let expiresIn: number = ctx.defaultExpiresInSeconds;
  const raw = body['expires_in'];
  if (raw !== undefined && raw !== null) {
    // Some providers send "3600"; RFC 6749 §5.1 says a number.
    expiresIn = typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : (raw as number);
    if (typeof expiresIn !== 'number' || !Number.isFinite(expiresIn))
      throw invalid('has an invalid expires_in');
  }
  const scope = typeof body['scope'] === 'string' ? body['scope'] : undefined;
  return { accessToken, tokenType, scope, expiresIn, obtainedAt };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** RFC 8707 §2: an absolute URI without a fragment. */
export function isResourceIndicator(value: string): boolean {
  if (value.includes('#')) return false;
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}
