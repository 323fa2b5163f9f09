/** A failed outgoing request. The message names the URL and status, never a body or credential. */
export class RemoteError extends Error {
  override readonly name = 'RemoteError';
}

export interface JsonResponse {
  readonly body: unknown;
  readonly headers: Headers;
}

/**
 * Fetches JSON with a timeout. Anything but a 2xx `application/json`-parsable answer
 * becomes a {@link RemoteError}; the body of a failure is never read into the message.
 */
export async function fetchJson(
  fetchImpl: typeof fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  abort?: AbortSignal,
): Promise<JsonResponse> {
  const response = await fetchOk(fetchImpl, url, init, timeoutMs, abort);
  try {
    return { body: await response.json(), headers: response.headers };
  } catch (cause) {
    throw new RemoteError(`${requestLine(url, init)}: response is not JSON`, { cause });
  }
}

/** Fetches a text body (RFC 9701's signed introspection answer) with a timeout, as {@link fetchJson}. */
export async function fetchText(
  fetchImpl: typeof fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<{ text: string; headers: Headers }> {
  const response = await fetchOk(fetchImpl, url, init, timeoutMs);
  return { text: await response.text(), headers: response.headers };
}

/** The response of a request that answered 2xx in time, without following redirects. */
async function fetchOk(
  fetchImpl: typeof fetch,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  abort?: AbortSignal,
): Promise<Response> {
  let response: Response;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = abort === undefined ? timeout : AbortSignal.any([timeout, abort]);
  try {
    response = await fetchImpl(url, { ...init, redirect: 'manual', signal });
  } catch (cause) {
    const reason =
      cause instanceof Error && cause.name === 'TimeoutError' ? 'timed out' : 'network error';
    throw new RemoteError(`${requestLine(url, init)}: ${reason}`, { cause });
  }
  if (response.status < 200 || response.status > 299) {
    await response.body?.cancel();
    throw new RemoteError(`${requestLine(url, init)}: HTTP ${response.status}`);
  }
  return response;
}

/** `max-age` of a `Cache-Control` header in seconds; 0 for `no-store`/`no-cache`; `undefined` if absent. */
export function maxAgeOf(cacheControl: string | null): number | undefined {
  if (cacheControl === null) return undefined;
  let maxAge: number | undefined;
  for (const directive of cacheControl.split(',')) {
    const [rawName, rawValue] = directive.split('=', 2) as [string, string | undefined];
    const name = rawName.trim().toLowerCase();
    if (name === 'no-store' || name === 'no-cache') return 0;
    if (name === 'max-age' && rawValue !== undefined) {
      const value = rawValue.trim().replace(/^"|"$/g, '');
      if (/^\d+$/.test(value)) maxAge = Number(value);
    }
  }
  return maxAge;
}

/** `POST https://host/path` for messages: no query or fragment, which may carry credentials. */
function requestLine(url: string, init: RequestInit): string {
  const i = url.search(/[?#]/);
  return `${init.method ?? 'GET'} ${i === -1 ? url : url.slice(0, i)}`;
}
