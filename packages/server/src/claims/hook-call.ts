import { Agent, request } from 'undici';

/** Why a call to the token hook produced no usable answer (the metric's `reason` label). */
export type HookFailureReason = 'timeout' | 'connection' | 'status' | 'too_large' | 'malformed';

export class HookCallError extends Error {
  override name = 'HookCallError';
  constructor(
    readonly reason: HookFailureReason,
    message: string,
  ) {
    super(message);
  }
}

/** Kept-alive connections to the hook: one pool per process, reused by every token request. */
export function hookAgent(): Agent {
  return new Agent({ keepAliveTimeout: 30_000, connections: 64, pipelining: 1 });
}

/**
 * POSTs `body` to the hook and returns its answer's status and text: at most `maxBytes`, within
 * `timeoutMs` for the whole exchange, no redirect followed (a 3xx is just a non-200 status).
 * Every failure is a {@link HookCallError} with its reason.
 *
 * The one place the hook touches the network, kept small so it can move onto the shared
 * bounded fetch helper (ARCHITECTURE.md, "Bounded outbound calls") once that exists.
 */
export async function callHook(
  url: string,
  body: string,
  headers: Record<string, string>,
  limits: { timeoutMs: number; maxBytes: number; dispatcher: Agent },
): Promise<{ status: number; text: string }> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', ...headers },
      dispatcher: limits.dispatcher,
      signal,
      headersTimeout: limits.timeoutMs,
      bodyTimeout: limits.timeoutMs,
    });
  } catch (error) {
    throw failure(error, signal);
  }
  const { statusCode, headers: answered } = response;
  const length = Number(answered['content-length']);
  if (length > limits.maxBytes) {
    response.body.destroy();
    throw new HookCallError('too_large', `the answer declares ${length} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limits.maxBytes) {
        response.body.destroy();
        throw new HookCallError('too_large', `the answer is over ${limits.maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    throw failure(error, signal);
  }
  return { status: statusCode, text: Buffer.concat(chunks).toString('utf8') };
}

function failure(error: unknown, signal: AbortSignal): HookCallError {
  if (error instanceof HookCallError) return error;
  const code = (error as { code?: string }).code;
  if (
    signal.aborted ||
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  ) {
    return new HookCallError('timeout', 'no answer in time');
  }
  return new HookCallError('connection', code ?? (error as Error).message);
}
