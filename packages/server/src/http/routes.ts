import { OAuthError } from '@tessera/protocol';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  preHandlerAsyncHookHandler,
} from 'fastify';
import { authorizeRole, type AdminCaller } from '../endpoints/admin/admin-roles.js';
import type { Endpoint, EndpointRequest } from '../endpoints/endpoint.js';
import type { EndpointKind } from '../metrics/http-metrics.js';
import { ParameterError } from '../presets/parameter-error.js';
import type { Preset } from '../presets/preset.js';
import { bodyTypeOf, mediaTypes, parseParams, type BodyType, type Params } from './parse-params.js';
import type { TenantRoutes } from './tenant-routes.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The provider dialect whose error shape this route answers in. */
    preset?: Preset | undefined;
    /** Body types the route accepts; every type `parseParams` knows when absent. */
    bodyTypes?: readonly BodyType[] | undefined;
    /** The metrics series of the route's requests (metrics/http-metrics.ts). */
    metricsKind?: EndpointKind | undefined;
  }
  interface FastifyRequest {
    /** The admin caller, once the admin hook has let the request in. */
    adminCaller: AdminCaller | undefined;
    /** A tenant's endpoint's preset (issue 21): the shape its errors take, over the route's. */
    endpointPreset: Preset | undefined;
    /** A tenant's endpoint's metrics kind (issue 21: the tenant route's requests are counted). */
    endpointKind: EndpointKind | undefined;
  }
}

const otherMethods = ['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

function endpointRequest(endpoint: Endpoint, request: FastifyRequest): EndpointRequest {
  return {
    raw: request.raw,
    params:
      endpoint.body === 'params'
        ? ((request.body as Params | undefined) ?? new Map<string, string>())
        : undefined,
    body: request.body,
    query: request.query as Record<string, unknown>,
    path: request.params as Record<string, string>,
    caller: request.adminCaller,
    host: request,
  };
}

/** Issue 21: a tenant's endpoints by name; undefined for a name that is no tenant. */
export type TenantLookup = (name: string) => Promise<TenantRoutes | undefined>;

const allMethods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

/** The JSON 404 of a path with no endpoint (also the server's not-found handler's body). */
export function notFoundBody(method: string, url: string) {
  return {
    error: 'not_found',
    error_description: `No endpoint at ${method} ${url.split('?', 1)[0]}`.replace(
      /[^\x20-\x21\x23-\x5b\x5d-\x7e]/g,
      '?',
    ),
  };
}

/**
 * `/t/:tenant/*`, every method, once for all tenants: finds the tenant's endpoint for the
 * rest of the path and runs it as `route` would (405 for another method on an OAuth path,
 * the endpoint's body types, its preset's error shape). The body was parsed by the OAuth
 * scope's parser, which accepts every type here, so the endpoint's own types are checked now.
 */
function tenantRoute(app: FastifyInstance, tenants: TenantLookup) {
  const handler = async function tenantEndpointHandler(
    request: FastifyRequest,
    reply: FastifyReply,
  ) {
    const { tenant, '*': rest = '' } = request.params as { tenant: string; '*'?: string };
    const routes = await tenants(tenant);
    if (!routes) {
      return reply.code(404).send({
        error: 'not_found',
        error_description: `No tenant ${tenant}`.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, '?'),
      });
    }
    const path = `/${rest}`;
    const endpoint = routes.byRoute.get(
      `${request.method === 'HEAD' ? 'GET' : request.method} ${path}`,
    );
    if (!endpoint) {
      const other = routes.byPath.get(path);
      if (other?.body === 'params') {
        request.endpointPreset = other.preset;
        throw new OAuthError('invalid_request', `Method not allowed; use ${other.method}`, {
          status: 405,
          headers: { allow: other.method },
        });
      }
      return reply.code(404).send(notFoundBody(request.method, request.url));
    }
    request.endpointPreset = endpoint.preset;
    request.endpointKind = endpoint.kind;
    if (endpoint.body === 'params' && endpoint.bodyTypes && request.body !== undefined) {
      const contentType = request.headers['content-type'];
      const type = bodyTypeOf(typeof contentType === 'string' ? contentType : undefined);
      if (type && !endpoint.bodyTypes.includes(type))
        throw new ParameterError(
          'Content-Type',
          'invalid_request',
          `The request body must be ${endpoint.bodyTypes.map((name) => mediaTypes[name]).join(' or ')}`,
        );
    }
    const answer = await endpoint.handle(endpointRequest(endpoint, request));
    reply.code(answer.status);
    if (answer.headers) reply.headers(answer.headers);
    return reply.send(answer.body);
  };
  for (const url of ['/t/:tenant', '/t/:tenant/*'])
    app.route({ method: [...allMethods], url, handler });
}

/** How the admin routes are guarded: who is calling (authentication), then what they may do. */
export interface AdminGuard {
  authenticate: (request: FastifyRequest) => Promise<AdminCaller>;
  /** The `acr` an admin action of a person needs (`--console-require-acr`), if any. */
  requireAcr?: () => string | undefined;
}

function route(
  app: FastifyInstance,
  endpoint: Endpoint,
  adminHook: preHandlerAsyncHookHandler,
  guard: AdminGuard,
) {
  const { preset, bodyTypes, kind } = endpoint;
  const { role } = endpoint;
  if (endpoint.caller === 'admin' && role === undefined)
    throw new Error(`${endpoint.method} ${endpoint.paths[0]} is an admin endpoint without a role`);
  // Authorization is its own step after authentication: the route's role against the caller's.
  // Issue 21: a route of a tenant (`tenantScope: 'path'`) checks the role on its {tenant}.
  const { tenantScope } = endpoint;
  const roleHook: preHandlerAsyncHookHandler = async (request) => {
    const tenant =
      tenantScope === 'path' ? (request.params as Record<string, string>).tenant : undefined;
    const where = tenantScope === 'any' ? ('any' as const) : { tenant };
    authorizeRole(request.adminCaller!, role!, guard.requireAcr?.(), where);
  };
  for (const path of endpoint.paths) {
    app.route({
      method: endpoint.method,
      url: path,
      config: { preset, bodyTypes, metricsKind: kind },
      ...(endpoint.caller === 'admin' ? { preHandler: [adminHook, roleHook] } : {}),
      handler: async function endpointHandler(request: FastifyRequest, reply: FastifyReply) {
        const answer = await endpoint.handle(endpointRequest(endpoint, request));
        if (answer.change) request.log.info(answer.change, 'admin change');
        reply.code(answer.status);
        if (answer.headers) reply.headers(answer.headers);
        if (answer.cookies) reply.header('set-cookie', answer.cookies);
        return reply.send(answer.body);
      },
    });
    // OAuth endpoints answer every other method 405 with `Allow`, in their preset's shape.
    if (endpoint.body === 'params') {
      const allow = endpoint.method;
      app.route({
        method: otherMethods.filter((method) => method !== allow),
        url: path,
        config: { preset },
        handler: async function methodNotAllowed() {
          throw new OAuthError('invalid_request', `Method not allowed; use ${allow}`, {
            status: 405,
            headers: { allow },
          });
        },
      });
    }
  }
}

/**
 * Mounts the endpoint table: each endpoint's routes, the 405 twins of the OAuth endpoints,
 * and for every `caller: 'admin'` route one admin authentication hook (`guard.authenticate`
 * resolves the request to its caller) followed by the role check the endpoint declares. OAuth endpoints take form,
 * multipart and JSON bodies, parsed into one flat parameter map that refuses duplicates
 * before any protocol code sees it.
 */
export function mountEndpoints(
  app: FastifyInstance,
  endpoints: readonly Endpoint[],
  guard: AdminGuard,
  tenants?: TenantLookup,
): void {
  app.decorateRequest('adminCaller', undefined);
  app.decorateRequest('endpointPreset', undefined);
  app.decorateRequest('endpointKind', undefined);
  const adminHook: preHandlerAsyncHookHandler = async (request) => {
    request.adminCaller = await guard.authenticate(request);
  };

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
    for (const endpoint of endpoints)
      if (endpoint.body === 'params') route(oauth, endpoint, adminHook, guard);
    if (tenants) tenantRoute(oauth, tenants);
  });
  for (const endpoint of endpoints)
    if (endpoint.body !== 'params') route(app, endpoint, adminHook, guard);
}
