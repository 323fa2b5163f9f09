import type { DpopProver } from './dpop.js';
import { ResourceRejectedTokenError } from './errors.js';
import { hasChallengeError } from './lib/www-authenticate.js';

/** A token as `fetch` presents it. */
export interface PresentedToken {
  accessToken: string;
  tokenType: 'Bearer' | 'DPoP';
}

/** What the fetch wrapper needs from the client. */
export interface AuthorizedFetchContext {
  fetch: typeof fetch;
  getToken: () => Promise<PresentedToken>;
  /** DPoP (RFC 9449): proofs for DPoP-bound tokens. */
  dpop: (() => Promise<DpopProver>) | undefined;
  /** Drops `token` from the cache if it is still the cached one. */
  invalidate: (token: string) => void;
  isTokenRejected: (response: Response) => boolean | Promise<boolean>;
  onReject: (status: number, replayable: boolean) => void;
}

/**
 * A `fetch` that sends `Authorization: Bearer <token>` (RFC 6750 §2.1), or for a DPoP-bound
 * token `Authorization: DPoP <token>` with a fresh `DPoP` proof for this method and URL
 * (RFC 9449 §7.1; a `use_dpop_nonce` challenge is answered once with the nonce). When the resource
 * answers that the token is expired or invalid, the token is dropped (only if it is still the
 * cached one, so fifty concurrent rejections cause one renewal), a new one obtained, and the
 * request replayed exactly once. A second rejection throws {@link ResourceRejectedTokenError};
 * it never loops. Requests whose body cannot be sent twice (a `ReadableStream`, or a `Request`
 * object carrying a body) are not replayed: the rejected response is returned as is.
 */
export function createAuthorizedFetch(ctx: AuthorizedFetchContext): typeof fetch {
  return async function authorizedFetch(
    input: RequestInfo | URL,
    init?: RequestInit,
  ): Promise<Response> {
    const replayable = isReplayable(input, init);
    const token = await ctx.getToken();
    const first = await send(ctx, input, init, token, replayable);
    if (!(await rejects(ctx, first, token))) return first;
    ctx.invalidate(token.accessToken);
    ctx.onReject(first.status, replayable);
    if (!replayable) return first;
    await first.body?.cancel();

    const renewed = await ctx.getToken();
    const second = await send(ctx, input, init, renewed, replayable);
    if (!(await rejects(ctx, second, renewed))) return second;
    await second.body?.cancel();
    throw new ResourceRejectedTokenError(
      'resource_rejected_token',
      `resource rejected a renewed token (${second.status})`,
      {
        status: second.status,
      },
    );
  };
}

async function rejects(
  ctx: AuthorizedFetchContext,
  response: Response,
  token: PresentedToken,
): Promise<boolean> {
  // RFC 9449 §7.1: a resource refuses a DPoP token with a DPoP challenge, RFC 6750 codes.
  if (
    token.tokenType === 'DPoP' &&
    response.status === 401 &&
    hasChallengeError(response.headers.get('www-authenticate'), 'dpop', 'invalid_token')
  )
    return true;
  try {
    return await ctx.isTokenRejected(response);
  } catch {
    return false;
  }
}

/**
 * Sends the request with the token. For a DPoP token, a resource's `use_dpop_nonce` challenge
 * with a new `DPoP-Nonce` (RFC 9449 §9) is answered by sending it once more with the nonce.
 */
async function send(
  ctx: AuthorizedFetchContext,
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  token: PresentedToken,
  replayable: boolean,
): Promise<Response> {
  const prover = token.tokenType === 'DPoP' ? await ctx.dpop?.() : undefined;
  if (prover === undefined) return ctx.fetch(input, withToken(input, init, token, undefined));
  const url = input instanceof Request ? input.url : String(input);
  const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
  for (let nonceRetry = false; ; nonceRetry = true) {
    const proof = await prover.proof(method, url, token.accessToken);
    const response = await ctx.fetch(input, withToken(input, init, token, proof));
    const fresh = prover.rememberNonce(url, response);
    if (
      nonceRetry ||
      !fresh ||
      !replayable ||
      response.status !== 401 ||
      !hasChallengeError(response.headers.get('www-authenticate'), 'dpop', 'use_dpop_nonce')
    )
      return response;
    await response.body?.cancel();
  }
}

function withToken(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  token: PresentedToken,
  proof: string | undefined,
): RequestInit {
  const headers = new Headers(
    init?.headers ?? (input instanceof Request ? input.headers : undefined),
  );
  if (proof === undefined) {
    headers.set('authorization', `Bearer ${token.accessToken}`);
  } else {
    headers.set('authorization', `DPoP ${token.accessToken}`);
    headers.set('dpop', proof);
  }
  return { ...init, headers };
}

/** Whether fetch can send this body again: everything but streams and opaque iterables. */
export function isReplayable(input: RequestInfo | URL, init: RequestInit | undefined): boolean {
  const body = init?.body;
  if (body === undefined || body === null)
    return !(input instanceof Request && input.body !== null);
  return (
    typeof body === 'string' ||
    body instanceof URLSearchParams ||
    body instanceof FormData ||
    body instanceof Blob ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body)
  );
}
