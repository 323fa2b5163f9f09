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
import { adminTenantEndpoints, withTenantCheck } from './endpoints/admin/admin-tenants.js';
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
import { mountEndpoints, notFoundBody } from './http/routes.js';
import {
  issuerPathOf,
  tenantPrefix,
  tenantRoutes,
  tenantSelector,
  wellKnownTarget,
  type TenantRoutes,
} from './http/tenant-routes.js';
import { presets } from './presets/index.js';
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

/**
 * The endpoints every tenant has (issue 21), over one tenant's context: token (and the
 * preset's), revoke, introspect, the revocation feed (`oauth`), and JWKS and discovery
 * (`published`).
 */
export function tenantEndpoints(context: TesseraContext): {
  oauth: Endpoint[];
  published: Endpoint[];
} {
  const { config, preset, store, keys, inspector, revocations, nowSeconds, syncChanges } = context;
  const { authenticator, secretUsage } = context;
  const authenticate: AuthenticateClient = (request, params, options) =>
    authenticateRequest(context, request.host!, params, options);
  const transport = (request: IncomingMessage, path: string) =>
    tokenTransport(context, request, path);
  const bind = (client: ClientRecord, sent: TokenTransport) => senderBinding(context, client, sent);
  const revokeDeps = { inspector, store, revocations, nowSeconds };
  const oauth: Endpoint[] = [
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
        tenant: context.tenant,
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
  ];
  const published = [
    jwksEndpoint({ config, keys, syncChanges }),
    discoveryEndpoint({ config, keys }),
  ];
  return { oauth, published };
}

/** Every endpoint, each given only the parts of the context it uses. */
export function endpointTable(context: TesseraContext): Endpoint[] {
  const { config, store, keys, nowSeconds } = context;
  const { hasher, clients, metrics } = context;
  const { sessions, oidc } = consoleSignIn(context);
  const { oauth, published } = tenantEndpoints(context);
  const table: Endpoint[] = [
    ...oauth,
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
    ...adminTenantEndpoints(context),
    ...signInEndpoints({ config, store, sessions, oidc, nowSeconds, logger: context.logger }),
    ...consoleEndpoints(),
    ...published,
    ...healthEndpoints({ store, keys, config, draining: () => context.draining }),
    // --metrics-listen: /metrics on its own listener only (start.ts), not on this port.
    ...(config.metricsListen === undefined ? [metricsEndpoint({ metrics, config })] : []),
  ];
  // Issue 21: the tenants' endpoints are documented as `/t/{tenant}/…` twins of these.
  table.push(openApiEndpoint(config, () => table, [...oauth, ...published]));
  // Issue 21: a tenant's admin token reaches only its own tenant's admin routes.
  return withTenantCheck(table);
}

const tenantTables = new WeakMap<TesseraContext, TenantRoutes>();

/** A tenant's endpoints (issue 21), made once per tenant context (a changed tenant gets a new one). */
function tenantRoutesOf(context: TesseraContext): TenantRoutes {
  let routes = tenantTables.get(context);
  if (!routes) {
    const { oauth, published } = tenantEndpoints(context);
    routes = tenantRoutes([...oauth, ...published]);
    tenantTables.set(context, routes);
  }
  return routes;
}

/**
 * Every path a tenant can have: the RFC endpoints' and each preset's. A request to one of
 * them on a `--tenant-host` host is routed to the tenant (`/t/NAME/…`); any other path on
 * that host (health, metrics, admin, console) stays the server's.
 */
function tenantCapablePaths(context: TesseraContext): Set<string> {
  const { oauth, published } = tenantEndpoints(context);
  const paths = new Set([...oauth, ...published].flatMap((endpoint) => endpoint.paths));
  for (const preset of presets.values()) {
    paths.add(preset.tokenPath);
    if (preset.revoke) paths.add(preset.revoke.path);
  }
  return paths;
}

/** Builds the HTTP app around a context; listening is the caller's business. */
export function buildServer(context: TesseraContext, logger: Logger): FastifyInstance {
  const table = endpointTable(context);
  const selectTenant = tenantSelector(context.config.tenantHosts, context.config.trustedProxies);
  const hostPaths = context.config.tenantHosts.size > 0 ? tenantCapablePaths(context) : undefined;
  const tokenListener = new TokenListener(
    {
      logger,
      // A tenant's token request is taken here once its context is loaded; its first one
      // (and an unknown tenant's) goes to the Fastify route, which loads it or answers 404.
      tenant: (request) => {
        const selected = selectTenant(request);
        if (selected === undefined) return undefined;
        // Changes another process committed (a tenant deleted or changed, its clients) are
        // applied before a tenant is picked, not after: with some due, the Fastify route
        // takes the request and awaits them first.
        const pending = context.syncChanges();
        if (pending) {
          pending.catch(() => {});
          return null;
        }
        const tenant = context.tenants.ready(selected.tenant);
        return tenant
          ? { routes: tenantRoutesOf(tenant).token, path: selected.path, name: tenant.tenant }
          : null;
      },
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
    // The one tenant route (`/t/NAME/…`) also serves a `--tenant-host` host's tenant paths
    // and the RFC 8414 §3.1 discovery paths (`/.well-known/…/t/NAME`): both are rewritten
    // to it here, before routing, so there is one routing mechanism for tenants.
    rewriteUrl: (request: IncomingMessage) => {
      const url = request.url ?? '/';
      if (url.startsWith(tenantPrefix)) return url;
      const wellKnown = url.startsWith('/.well-known/')
        ? wellKnownTarget(url, issuerPathOf(context.config.issuer))
        : undefined;
      if (wellKnown !== undefined) return wellKnown;
      if (!hostPaths) return url;
      const selected = selectTenant(request);
      if (!selected || !hostPaths.has(url.split('?', 1)[0]!)) return url;
      return `${tenantPrefix}${selected.tenant}${url}`;
    },
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
    const preset = request.endpointPreset ?? request.routeOptions.config.preset;
    const { reply: shaped } = refusal(thrown, preset, request.id, body, () => request.log);
    return reply.code(shaped.status).headers(shaped.headers).send(shaped.body);
  });

  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send(notFoundBody(request.method, request.url)),
  );

  const { sessions } = consoleSignIn(context);
  mountEndpoints(
    app,
    table,
    {
      // A person's console session when the request has its cookie and no Authorization header;
      // otherwise a bearer token, as before.
      authenticate: (request) =>
        request.headers.authorization === undefined && ConsoleSessions.presentIn(request.raw)
          ? sessions.authenticate(request.raw, request.method)
          : authenticateAdmin(context, request.raw),
      requireAcr: () => context.config.consoleRequireAcr,
    },
    async (name) => {
      await context.syncChanges();
      const tenant = await context.tenants.get(name);
      return tenant && tenantRoutesOf(tenant);
    },
  );
  return app;
}
