import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyRequest,
} from 'fastify';
import type { Logger } from 'pino';
import type { TesseraContext } from './context.js';
import { serverFactory } from './http/server-factory.js';
import { registerDiscoveryEndpoints } from './endpoints/discovery.js';
import { registerHealthEndpoints } from './endpoints/health.js';
import { registerJwksEndpoint } from './endpoints/jwks.js';
import { registerMethodNotAllowed } from './endpoints/method-not-allowed.js';
import { registerTokenEndpoint, tokenRoutes } from './endpoints/token.js';
import { TokenListener } from './endpoints/token-listener.js';
import { registerAdminClients } from './endpoints/admin/admin-clients.js';
import { registerAdminKeys } from './endpoints/admin/admin-keys.js';
import { registerAdminActivity } from './endpoints/admin/admin-activity.js';
import { registerConsole } from './console/console-routes.js';
import { registerMetrics } from './metrics/http-metrics.js';
import { registerOpenApi } from './endpoints/openapi.js';
import { introspectionPath, registerIntrospectionEndpoint } from './endpoints/introspect.js';
import { registerRevocationFeed } from './endpoints/revocation-feed.js';
import { registerRevocationEndpoint, revocationPath } from './endpoints/revoke.js';
import { errorReply, logRefusal, toOAuthError } from './http/error-reply.js';
import { requestIdOf } from './http/request-id.js';
import { bodyTypeOf, mediaTypes, parseParams, type BodyType } from './http/parse-params.js';
import { OAuthError } from '@tessera/protocol';
import { registerPresetRevokeEndpoint } from './endpoints/preset-revoke.js';
import { ParameterError } from './presets/parameter-error.js';
import type { Preset } from './presets/preset.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The token endpoint's node:http front door (see endpoints/token-listener.ts). */
    tokenListener: TokenListener;
  }
  interface FastifyContextConfig {
    /** The provider dialect whose error shape this route answers in. */
    preset?: Preset | undefined;
    /** Body types the route accepts; every type `parseParams` knows when absent. */
    bodyTypes?: readonly BodyType[] | undefined;
  }
}

/** Builds the HTTP app around a context; listening is the caller's business. */
export function buildServer(context: TesseraContext, logger: Logger): FastifyInstance {
  const tokenEndpointRoutes = tokenRoutes(context.preset);
  const tokenListener = new TokenListener(context, logger, tokenEndpointRoutes);
  const app = Fastify({
    serverFactory: serverFactory(context.config, (request, response) =>
      tokenListener.take(request, response),
    ),
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: context.config.bodyLimit,
    requestIdHeader: false,
    genReqId: requestIdOf,
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

  app.setErrorHandler(async (error, request, reply) => {
    const oauthError = toOAuthError(error);
    logRefusal(oauthError, () => request.log);
    const shaped = errorReply(
      oauthError,
      request.routeOptions.config.preset,
      request.id,
      request.body instanceof Map ? (request.body as Map<string, string>) : undefined,
    );
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

  // OAuth endpoints take form, multipart and JSON bodies, parsed into one flat parameter
  // map that refuses duplicates before any protocol code sees it.
  void app.register(async (oauth) => {
    oauth.removeAllContentTypeParsers();
    oauth.addContentTypeParser(
      '*',
      { parseAs: 'buffer' },
      async (request: FastifyRequest, body: Buffer) => {
        const contentType = request.headers['content-type'];
        const type = bodyTypeOf(typeof contentType === 'string' ? contentType : undefined);
        if (!type) {
          throw new OAuthError(
            'invalid_request',
            'The request body must be application/x-www-form-urlencoded, multipart/form-data or application/json',
          );
        }
        // A preset's paths accept only the body types its provider documents.
        const accepted = request.routeOptions.config.bodyTypes;
        if (accepted && !accepted.includes(type)) {
          throw new ParameterError(
            'Content-Type',
            'invalid_request',
            `The request body must be ${accepted.map((name) => mediaTypes[name]).join(' or ')}`,
          );
        }
        return parseParams(type, body, contentType as string);
      },
    );
    for (const route of tokenEndpointRoutes) {
      registerTokenEndpoint(oauth, context, route);
      registerMethodNotAllowed(oauth, route.path, 'POST', route.preset);
    }
    registerRevocationEndpoint(oauth, context);
    registerMethodNotAllowed(oauth, revocationPath, 'POST');
    registerIntrospectionEndpoint(oauth, context);
    registerMethodNotAllowed(oauth, introspectionPath, 'POST');
    const preset = context.preset;
    if (preset?.revoke) registerPresetRevokeEndpoint(oauth, context, preset, preset.revoke);
  });

  registerRevocationFeed(app, context);
  registerAdminClients(app, context);
  registerAdminKeys(app, context);
  registerAdminActivity(app, context);
  registerConsole(app);
  registerOpenApi(app, context);
  registerJwksEndpoint(app, context);
  registerDiscoveryEndpoints(app, context);
  registerHealthEndpoints(app, context);
  return app;
}
