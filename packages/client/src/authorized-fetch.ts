import { ResourceRejectedTokenError } from './errors.js';

/** What the fetch wrapper needs from the client. */
export interface AuthorizedFetchContext {
  fetch: typeof fetch;
  getToken: () => Promise<string>;
  /** Drops `token` from the cache if it is still the cached one. */
  invalidate: (token: string) => void;
  isTokenRejected: (response: Response) => boolean | Promise<boolean>;
  onReject: (status: number, replayable: boolean) => void;
}

/**
 * A `fetch` that sends `Authorization: Bearer <token>` (RFC 6750 §2.1). When the resource
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
    const token = await ctx.getToken();
    const first = await ctx.fetch(input, withBearer(input, init, token));
    if (!(await rejects(ctx, first))) return first;
    ctx.invalidate(token);
    const replayable = isReplayable(input, init);
    ctx.onReject(first.status, replayable);
    if (!replayable) return first;
    await first.body?.cancel();

    const renewed = await ctx.getToken();
    const second = await ctx.fetch(input, withBearer(input, init, renewed));
    if (!(await rejects(ctx, second))) return second;
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

async function rejects(ctx: AuthorizedFetchContext, response: Response): Promise<boolean> {
  try {
    return await ctx.isTokenRejected(response);
  } catch {
    return false;
  }
}

function withBearer(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  token: string,
): RequestInit {
  const headers = new Headers(
    init?.headers ?? (input instanceof Request ? input.headers : undefined),
  );
  headers.set('authorization', `Bearer ${token}`);
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
