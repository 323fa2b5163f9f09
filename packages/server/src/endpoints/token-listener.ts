import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { OAuthError } from '@tessera/protocol';
import type { Logger } from 'pino';
import { refusal } from '../http/error-reply.js';
import {
  bodyTypeOf,
  decodeUtf8,
  parseParams,
  parseUrlEncoded,
  type BodyType,
  type Params,
} from '../http/parse-params.js';
import { requestIdOf } from '../http/request-id.js';
import type { RequestFacts } from '../metrics/http-metrics.js';
import { requestLineLogger } from '../http/logger.js';
import { defaultTenant } from '../tenants/tenant-name.js';
import type { Endpoint, EndpointRequest } from './endpoint.js';

const jsonType = 'application/json; charset=utf-8';

/** What the listener needs besides the token endpoints. */
export interface ListenerDeps {
  logger: Logger;
  bodyLimit: number;
  /** Counts a refused token request (metrics/http-metrics.ts `recordRefusal`). */
  refused(error: OAuthError, facts: RequestFacts): void;
  /** Counts an answered token request (metrics/http-metrics.ts `recordAnswer`). */
  answered(status: number, elapsedMs: number, facts: RequestFacts, clientId?: string): void;
  /**
   * Issue 21: for a tenant's request (by path prefix or host), that tenant's token endpoints
   * and the path within it, or null to leave the request to Fastify (the tenant is not
   * loaded yet, or unknown); undefined for the default tenant's requests. `name` is the
   * tenant context's own name, the `tenant` label its metrics are counted under.
   */
  tenant?(
    request: IncomingMessage,
  ): { routes: ReadonlyMap<string, Endpoint>; path: string; name: string } | undefined | null;
}

/**
 * The token endpoint served straight from node:http, ahead of Fastify: its per-request
 * machinery (routing, hooks, a child logger, content-type dispatch, reply serialisation) cost
 * up to ~10 µs of the ~70 µs a token took on the event loop. It takes only requests whose
 * headers place them here: POST to a token path exactly (no query string), a body type the
 * path accepts, a Content-Length within the body limit. Anything else, including every
 * malformed request, passes to Fastify untouched (nothing has been read from it). Taken
 * requests get the same parsing, endpoint handler (endpoints/token.ts), header set, error
 * shaping, logging and metrics as on the Fastify route; `token-listener.test.ts` compares them.
 */
export class TokenListener {
  readonly #byPath: Map<string, Endpoint>;
  /** Requests taken so far; tests use it to tell which path answered. */
  taken = 0;

  constructor(
    private readonly deps: ListenerDeps,
    endpoints: readonly Endpoint[],
  ) {
    this.#byPath = new Map(
      endpoints.flatMap((endpoint) => endpoint.paths.map((path) => [path, endpoint] as const)),
    );
  }

  /** Takes the request and answers it (true), or leaves it untouched for Fastify (false). */
  take(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.method !== 'POST') return false;
    let route: Endpoint | undefined;
    let name = defaultTenant;
    const tenant = this.deps.tenant?.(request);
    if (tenant === undefined) route = this.#byPath.get(request.url ?? '');
    else if (tenant !== null) {
      route = tenant.routes.get(tenant.path);
      name = tenant.name;
    }
    if (route === undefined) return false;
    const contentType = request.headers['content-type'];
    const type = bodyTypeOf(contentType);
    if (type === undefined || (route.bodyTypes && !route.bodyTypes.includes(type))) return false;
    const length = request.headers['content-length'];
    if (length === undefined || request.headers['transfer-encoding'] !== undefined) return false;
    const size = Number(length);
    if (!(size > 0 && size <= this.deps.bodyLimit)) return false;

    this.taken += 1;
    const started = performance.now();
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      // The one object this request allocates here: the handler's request, with what was read.
      answer(this.deps, route, response, {
        raw: request,
        params: undefined,
        type,
        contentType: contentType!,
        bytes: body,
        started,
        tenant: name,
      }).catch((error: unknown) => {
        // answer() turns every refusal into a response; this is a bug, not a request error.
        this.deps.logger.error({ err: error }, 'token listener failed');
        response.destroy();
      });
    });
    return true;
  }
}

interface ReadBody extends EndpointRequest {
  type: BodyType;
  contentType: string;
  bytes: Buffer;
  /** performance.now() when the request arrived, for the latency histogram. */
  started: number;
  /** The tenant whose endpoint this is (its metrics label). */
  tenant: string;
}

async function answer(
  deps: ListenerDeps,
  endpoint: Endpoint,
  response: ServerResponse,
  read: ReadBody,
): Promise<void> {
  const { logger } = deps;
  const request = read.raw;
  const requestId = requestIdOf(request);
  // Fastify makes a child logger per request; here one is made only for a refusal's line.
  let requestLog: Logger | undefined;
  const log = () => (requestLog ??= logger.child({ reqId: requestId }));

  let statusCode: number;
  let issuedTo: string | undefined;
  try {
    // The common body type is parsed synchronously: one await fewer per token.
    read.params =
      read.type === 'urlencoded'
        ? parseUrlEncoded(decodeUtf8(read.bytes))
        : await parseParams(read.type, read.bytes, read.contentType);
    const answered = await endpoint.handle(read);
    statusCode = answered.status;
    issuedTo = answered.clientId;
    send(response, statusCode, answered.headers, JSON.stringify(answered.body), requestId);
  } catch (thrown) {
    const { error, reply } = refusal(thrown, endpoint.preset, requestId, read.params, log);
    deps.refused(error, factsOf(request, read.params, read.tenant));
    statusCode = reply.status;
    send(response, reply.status, reply.headers, JSON.stringify(reply.body), requestId);
  }
  const elapsedMs = performance.now() - read.started;
  deps.answered(statusCode, elapsedMs, factsOf(request, read.params, read.tenant), issuedTo);
  // One line per request (issue 24), as on the Fastify routes (server.ts): a line is a write.
  if (logger.isLevelEnabled('info')) {
    const req = { method: 'POST', url: request.url, ip: request.socket.remoteAddress };
    const line = { reqId: requestId, req, res: { statusCode }, responseTime: elapsedMs };
    requestLineLogger(logger).info(line, 'request completed');
  }
}

// The tenant is known here (the listener picked its context): the metrics need no path or host.
const factsOf = (
  request: IncomingMessage,
  params: Params | undefined,
  tenant: string,
): RequestFacts => ({
  authorization: request.headers.authorization,
  params,
  tls: 'encrypted' in request.socket,
  tenant,
});

function send(
  response: ServerResponse,
  status: number,
  headers: Readonly<Record<string, string>> | undefined,
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
