import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { authenticateRequest } from './client-auth/authenticate-request.js';
import type { TesseraContext } from './context.js';
import { senderBinding, tokenTransport, type TokenTransport } from './dpop/sender-binding.js';
import { adminActivityEndpoints } from './endpoints/admin/admin-activity.js';
import { authenticateAdmin } from './endpoints/admin/admin-auth.js';
import { adminClientEndpoints } from './endpoints/admin/admin-clients.js';
import { adminKeyEndpoints } from './endpoints/admin/admin-keys.js';
import { adminOperatorEndpoints } from './endpoints/admin/admin-operators.js';
import { consoleEndpoints } from './console/console-routes.js';
import { ConsoleSessions } from './console/console-sessions.js';
import { OidcSignIn } from './console/oidc-sign-in.js';
import { signInEndpoints } from './console/sign-in-endpoints.js';
import { discoveryEndpoint } from './endpoints/discovery.js';
import type { AuthenticateClient, Endpoint } from './endpoints/endpoint.js';
import { healthEndpoints } from './endpoints/health.js';
import { introspectionEndpoint } from './endpoints/introspect.js';
import { jwksEndpoint } from './endpoints/jwks.js';
import { metricsEndpoint } from './endpoints/metrics.js';
import { openApiEndpoint } from './endpoints/openapi.js';
import { presetRevokeEndpoint } from './endpoints/preset-revoke.js';
import { revocationFeedEndpoint } from './endpoints/revocation-feed.js';
import { revocationEndpoint } from './endpoints/revoke.js';
import { tokenEndpoints } from './endpoints/token.js';
import { requestSourceAddress } from './client-auth/source-address.js';
import { TokenListener } from './endpoints/token-listener.js';
import { refusal } from './http/error-reply.js';
import { requestIdOf } from './http/request-id.js';
import { mountEndpoints } from './http/routes.js';
import { serverFactory } from './http/server-factory.js';
import { recordAnswer, recordRefusal, registerMetrics } from './metrics/http-metrics.js';
import type { ClientRecord } from './store/contract.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The token endpoint's node:http front door (see endpoints/token-listener.ts). */
    tokenListener: TokenListener;
  }
}

const signIns = new WeakMap<
  TesseraContext,
  { sessions: ConsoleSessions; oidc: OidcSignIn | undefined }
>();

/** The console's session store and OpenID Connect relying party, one per context. */
function consoleSignIn(context: TesseraContext) {
  let found = signIns.get(context);
  if (!found) {
    const { config, store, nowSeconds } = context;
    found = {
      sessions: new ConsoleSessions(store, config, nowSeconds),
      oidc: config.consoleOidcIssuer === undefined ? undefined : new OidcSignIn(config, nowSeconds),
    };
    signIns.set(context, found);
  }
  return found;
}

/** Every endpoint, each given only the parts of the context it uses. */
export function endpointTable(context: TesseraContext): Endpoint[] {
  const { config, preset, store, keys, inspector, revocations, nowSeconds, syncChanges } = context;
  const { authenticator, secretUsage, hasher, clients, metrics } = context;
  const authenticate: AuthenticateClient = (request, params, options) =>
    authenticateRequest(context, request.host!, params, options);
  const transport = (request: IncomingMessage, path: string) =>
    tokenTransport(context, request, path);
  const bind = (client: ClientRecord, sent: TokenTransport) => senderBinding(context, client, sent);
  const revokeDeps = { inspector, store, revocations, nowSeconds };
  const { sessions, oidc } = consoleSignIn(context);
  const table: Endpoint[] = [
    ...tokenEndpoints(
      {
        config,
        keys,
        nowSeconds,
        syncChanges,
        authenticator,
        secretUsage,
        transport,
        bind,
        sourceAddress: (request: IncomingMessage) => requestSourceAddress(context, request),
        tokenHook: context.tokenHook,
        quotas: context.quotas,
        tokenReuse: context.tokenReuse,
        revocations,
      },
      preset,
    ),
    revocationEndpoint(revokeDeps, authenticate),
    introspectionEndpoint({ inspector, keys, config, nowSeconds }, authenticate),
    revocationFeedEndpoint({ revocations, nowSeconds }, authenticate),
    ...(preset?.revoke
      ? [presetRevokeEndpoint(revokeDeps, authenticate, preset, preset.revoke)]
      : []),
    ...adminClientEndpoints({
      store,
      hasher,
      nowSeconds,
      clients,
      config,
      quotas: context.quotas,
    }),
    ...adminKeyEndpoints({ store, keys, nowSeconds, config }),
    ...adminOperatorEndpoints({ store, nowSeconds }),
    ...adminActivityEndpoints({ metrics, nowSeconds }),
    ...signInEndpoints({ config, store, sessions, oidc, nowSeconds, logger: context.logger }),
    ...consoleEndpoints(),
    jwksEndpoint({ config, keys, syncChanges }),
    discoveryEndpoint({ config, keys }),
    ...healthEndpoints({ store, keys, config, draining: () => context.draining }),
    // --metrics-listen: /metrics on its own listener only (start.ts), not on this port.
    ...(config.metricsListen === undefined ? [metricsEndpoint({ metrics, config })] : []),
  ];
  table.push(openApiEndpoint(config, () => table));
  return table;
}

/** Builds the HTTP app around a context; listening is the caller's business. */
export function buildServer(context: TesseraContext, logger: Logger): FastifyInstance {
  const table = endpointTable(context);
  const tokenListener = new TokenListener(
    {
      logger,
      bodyLimit: context.config.bodyLimit,
      refused: (error, facts) => recordRefusal(context, 'token', error, facts),
      answered: (status, elapsedMs, facts, clientId) =>
        recordAnswer(context, 'token', status, elapsedMs, facts, clientId),
    },
    table.filter((endpoint) => endpoint.kind === 'token'),
  );
  const app = Fastify({
    serverFactory: serverFactory(context.config, (request, response) =>
      tokenListener.take(request, response),
    ),
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: context.config.bodyLimit,
    requestIdHeader: false,
    genReqId: requestIdOf,
    // One line per request, written when it is answered (the onResponse hook below), instead
    // of Fastify's two: the token listener writes the same one (issue 24).
    logController: new LogController({ disableRequestLogging: true }),
    // Requests on open keep-alive connections are still served while draining: a rolling
    // restart must not turn them into 503s.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });

  // Every route as registered, for the test that keeps /openapi.json in sync with them.
  const routes: Array<{ method: string; url: string; handlerName: string }> = [];
  app.decorate('tesseraRoutes', routes);
  app.decorate('tokenListener', tokenListener);
  app.addHook('onRoute', (route) => {
    for (const method of ([] as string[]).concat(route.method)) {
      routes.push({ method, url: route.url, handlerName: route.handler.name });
    }
  });
  // Before any route, so its onRoute hook can instrument the OAuth endpoints.
  registerMetrics(app, context);

  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const res = { statusCode: reply.statusCode };
    request.log.info({ req: request, res, responseTime: reply.elapsedTime }, 'request completed');
    done();
  });

  app.setErrorHandler(async (thrown, request, reply) => {
    const body = request.body instanceof Map ? (request.body as Map<string, string>) : undefined;
    const { preset } = request.routeOptions.config;
    const { reply: shaped } = refusal(thrown, preset, request.id, body, () => request.log);
    return reply.code(shaped.status).headers(shaped.headers).send(shaped.body);
  });

  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({
      error: 'not_found',
      error_description: `No endpoint at ${request.method} ${request.url.split('?', 1)[0]}`.replace(
        /[^\x20-\x21\x23-\x5b\x5d-\x7e]/g,
        '?',
      ),
    }),
  );

  const { sessions } = consoleSignIn(context);
  mountEndpoints(app, table, {
    // A person's console session when the request has its cookie and no Authorization header;
    // otherwise a bearer token, as before.
    authenticate: (request) =>
      request.headers.authorization === undefined && ConsoleSessions.presentIn(request.raw)
        ? sessions.authenticate(request.raw, request.method)
        : authenticateAdmin(context, request.raw),
    requireAcr: () => context.config.consoleRequireAcr,
  });
  return app;
}
