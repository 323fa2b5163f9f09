import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { TesseraContext } from '../context.js';
import { errorReply, logRefusal, noStoreHeaders, toOAuthError } from '../http/error-reply.js';
import {
  bodyTypeOf,
  decodeUtf8,
  parseParams,
  parseUrlEncoded,
  type BodyType,
  type Params,
} from '../http/parse-params.js';
import { requestIdOf } from '../http/request-id.js';
import { recordAnswer, recordRefusal, type RequestFacts } from '../metrics/http-metrics.js';
import { answerTokenRequest, type TokenRoute } from './token.js';

const jsonType = 'application/json; charset=utf-8';

/**
 * The token endpoint served straight from node:http, ahead of Fastify. Issuing tokens is the
 * hot path, and Fastify's per-request machinery (routing, hooks, a child logger, content-type
 * dispatch, reply serialisation) cost up to ~10 µs of the ~70 µs a token took on the event loop. Only requests
 * whose headers already place them here are taken: POST to a token path exactly (no query
 * string), a body type the path accepts, and a Content-Length within the body limit. Anything
 * else, including every malformed request Fastify answers itself, passes through untouched
 * (nothing has been read from it). What it does with a request is the Fastify route's work:
 * the same parsing, `answerTokenRequest`, error shaping, logging and metrics functions, and
 * `token-listener.test.ts` holds both paths to the same answers.
 */
export class TokenListener {
  readonly #byPath: Map<string, TokenRoute>;
  readonly #bodyLimit: number;
  /** Requests taken so far; tests use it to tell which path answered. */
  taken = 0;

  constructor(
    private readonly context: TesseraContext,
    private readonly logger: Logger,
    routes: readonly TokenRoute[],
  ) {
    this.#byPath = new Map(routes.map((route) => [route.path, route]));
    this.#bodyLimit = context.config.bodyLimit;
  }

  /** Takes the request and answers it (true), or leaves it untouched for Fastify (false). */
  take(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.method !== 'POST') return false;
    const route = this.#byPath.get(request.url ?? '');
    if (route === undefined) return false;
    const contentType = request.headers['content-type'];
    const type = bodyTypeOf(contentType);
    if (type === undefined || (route.bodyTypes && !route.bodyTypes.includes(type))) return false;
    const length = request.headers['content-length'];
    if (length === undefined || request.headers['transfer-encoding'] !== undefined) return false;
    const size = Number(length);
    if (!(size > 0 && size <= this.#bodyLimit)) return false;

    this.taken += 1;
    const started = performance.now();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      answer(this.context, this.logger, route, request, response, {
        type,
        contentType: contentType!,
        body,
        started,
      }).catch((error: unknown) => {
        // answer() turns every refusal into a response; this is a bug, not a request error.
        this.logger.error({ err: error }, 'token listener failed');
        response.destroy();
      });
    });
    return true;
  }
}

interface ReadBody {
  type: BodyType;
  contentType: string;
  body: Buffer;
  /** performance.now() when the request arrived, for the latency histogram. */
  started: number;
}

async function answer(
  context: TesseraContext,
  logger: Logger,
  route: TokenRoute,
  request: IncomingMessage,
  response: ServerResponse,
  read: ReadBody,
): Promise<void> {
  const requestId = requestIdOf(request);
  // Fastify makes a child logger per request; here one is made only for a line to write.
  let requestLog: Logger | undefined;
  const log = () => (requestLog ??= logger.child({ reqId: requestId }));
  const logRequests = logger.isLevelEnabled('info');
  if (logRequests) {
    log().info(
      { req: { method: 'POST', url: request.url, ip: request.socket.remoteAddress } },
      'incoming request',
    );
  }

  let params: Params | undefined;
  let statusCode: number;
  let issuedTo: string | undefined;
  try {
    // The common body type is parsed synchronously: one await fewer per token.
    params =
      read.type === 'urlencoded'
        ? parseUrlEncoded(decodeUtf8(read.body))
        : await parseParams(read.type, read.body, read.contentType);
    const issued = await answerTokenRequest(context, route, request, params);
    statusCode = 200;
    issuedTo = issued.clientId;
    send(response, 200, noStoreHeaders, JSON.stringify(issued.response), requestId);
  } catch (thrown) {
    const error = toOAuthError(thrown);
    logRefusal(error, log);
    recordRefusal(context, 'token', error, factsOf(request, params));
    const shaped = errorReply(error, route.preset, requestId, params);
    statusCode = shaped.status;
    send(response, shaped.status, shaped.headers, JSON.stringify(shaped.body), requestId);
  }
  const elapsedMs = performance.now() - read.started;
  recordAnswer(context, 'token', statusCode, elapsedMs, factsOf(request, params), issuedTo);
  if (logRequests) {
    log().info({ res: { statusCode }, responseTime: elapsedMs }, 'request completed');
  }
}

const factsOf = (request: IncomingMessage, params: Params | undefined): RequestFacts => ({
  authorization: request.headers.authorization,
  params,
  tls: 'encrypted' in request.socket,
});

function send(
  response: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>>,
  body: string,
  requestId: string,
): void {
  if (response.destroyed) return;
  response.writeHead(status, {
    'content-type': jsonType,
    ...headers,
    'content-length': Buffer.byteLength(body),
    'x-request-id': requestId,
  });
  response.end(body);
}
