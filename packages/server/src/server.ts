import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { TesseraContext } from './context.js';
import { registerDiscoveryEndpoints, tokenPath } from './endpoints/discovery.js';
import { registerHealthEndpoints } from './endpoints/health.js';
import { registerJwksEndpoint } from './endpoints/jwks.js';
import { registerMethodNotAllowed } from './endpoints/method-not-allowed.js';
import { registerTokenEndpoint } from './endpoints/token.js';
import { registerAdminClients } from './endpoints/admin/admin-clients.js';
import { registerAdminKeys } from './endpoints/admin/admin-keys.js';
import { registerOpenApi } from './endpoints/openapi.js';
import { introspectionPath, registerIntrospectionEndpoint } from './endpoints/introspect.js';
import { registerRevocationFeed } from './endpoints/revocation-feed.js';
import { registerRevocationEndpoint, revocationPath } from './endpoints/revoke.js';
import { errorReply, toOAuthError } from './http/error-reply.js';
import { bodyTypeOf, parseParams } from './http/parse-params.js';
import { OAuthError } from '@tessera/protocol';
import type { Preset } from './presets/preset.js';

const requestIdPattern = /^[A-Za-z0-9._-]{1,128}$/;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The provider dialect whose error shape this route answers in. */
    preset?: Preset | undefined;
  }
}

/** Builds the HTTP app around a context; listening is the caller's business. */
export function buildServer(context: TesseraContext, logger: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: context.config.bodyLimit,
    requestIdHeader: false,
    genReqId: (request) => {
      const given = request.headers['x-request-id'];
      return typeof given === 'string' && requestIdPattern.test(given) ? given : randomUUID();
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  // Every route as registered, for the test that keeps /openapi.json in sync with them.
  const routes: Array<{ method: string; url: string; handlerName: string }> = [];
  app.decorate('tesseraRoutes', routes);
  app.addHook('onRoute', (route) => {
    for (const method of ([] as string[]).concat(route.method)) {
      routes.push({ method, url: route.url, handlerName: route.handler.name });
    }
  });

  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  app.setErrorHandler(async (error, request, reply) => {
    const oauthError = toOAuthError(error);
    if (oauthError.error === 'server_error') {
      request.log.error({ detail: oauthError.detail }, 'unexpected error');
    } else if (oauthError.detail) {
      request.log.info({ error: oauthError.error, detail: oauthError.detail }, 'request refused');
    }
    const shaped = errorReply(oauthError, request.routeOptions.config.preset, request.id);
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
      async (request: { headers: Record<string, string | string[] | undefined> }, body: Buffer) => {
        const contentType = request.headers['content-type'];
        const type = bodyTypeOf(typeof contentType === 'string' ? contentType : undefined);
        if (!type) {
          throw new OAuthError(
            'invalid_request',
            'The request body must be application/x-www-form-urlencoded, multipart/form-data or application/json',
          );
        }
        return parseParams(type, body, contentType as string);
      },
    );
    registerTokenEndpoint(oauth, context, tokenPath);
    registerMethodNotAllowed(oauth, tokenPath, 'POST');
    registerRevocationEndpoint(oauth, context);
    registerMethodNotAllowed(oauth, revocationPath, 'POST');
    registerIntrospectionEndpoint(oauth, context);
    registerMethodNotAllowed(oauth, introspectionPath, 'POST');
    const preset = context.preset;
    if (preset && preset.tokenPath !== tokenPath) {
      registerTokenEndpoint(oauth, context, preset.tokenPath, preset);
      registerMethodNotAllowed(oauth, preset.tokenPath, 'POST', preset);
    }
  });

  registerRevocationFeed(app, context);
  registerAdminClients(app, context);
  registerAdminKeys(app, context);
  registerOpenApi(app, context);
  registerJwksEndpoint(app, context);
  registerDiscoveryEndpoints(app, context);
  registerHealthEndpoints(app, context);
  return app;
}
