import { formUrlDecode, type OAuthError } from '@tessera/protocol';
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
  RouteOptions,
} from 'fastify';
import {
  clientAuthFailureOf,
  clientAuthFailures,
  type AuthFailureLabel,
} from '../client-auth/failure-reasons.js';
import type { TesseraContext } from '../context.js';
import { toOAuthError } from '../http/error-reply.js';
import { hostFactsOf, selectionHost, type HostFacts } from '../http/forwarded-host.js';
import { tenantOfHost } from '../http/tenant-routes.js';
import { annotateOutcome } from '../telemetry/request-spans.js';
import { activeTracer } from '../telemetry/tracer-state.js';

/**
 * The `tessera_client_auth_failures_total` label of a refusal: the typed reason the
 * authenticator put on the error, through the one table (client-auth/failure-reasons.ts).
 */
export function failureReason(error: OAuthError): AuthFailureLabel | undefined {
  const reason = clientAuthFailureOf(error);
  if (reason !== undefined) return clientAuthFailures[reason].metric;
  // Every invalid_client is a ClientAuthError; should one slip through, count it coarsely.
  return error.error === 'invalid_client' ? 'malformed_credentials' : undefined;
}

const basicPrefix = /^basic +/i;

/** What the metrics read off a request at an endpoint that authenticates clients. */
export interface RequestFacts extends Partial<HostFacts> {
  authorization: string | undefined;
  /** The parsed body, when it got that far. */
  params: unknown;
  /** Whether the request came over TLS (where a client certificate may authenticate). */
  tls: boolean;
  /**
   * Issue 21: the request's path and host (`Host`, or a trusted proxy's `X-Forwarded-Host`),
   * which pick its tenant (the `tenant` label).
   */
  url?: string | undefined;
  /**
   * The tenant, when the caller already knows it is one of the deployment's (the token
   * listener, which picked the tenant's context): the label without reading the request again.
   */
  tenant?: string | undefined;
}

const tenantPathPrefix = '/t/';

/**
 * The `tenant` label of a request: the tenant its path (`/t/NAME/…`) or its Host
 * (`--tenant-host`) selects, `default` otherwise; undefined for a name that is no tenant
 * (such requests are answered 404 before any counted endpoint, and must not mint labels).
 */
export function tenantLabel(context: TesseraContext, facts: RequestFacts): string | undefined {
  if (facts.tenant !== undefined) return facts.tenant;
  const url = facts.url;
  let name: string | undefined;
  if (url?.startsWith(tenantPathPrefix)) {
    const end = url.slice(tenantPathPrefix.length).search(/[/?]/);
    name = url.slice(
      tenantPathPrefix.length,
      end === -1 ? undefined : tenantPathPrefix.length + end,
    );
  } else {
    const hosts = context.config.tenantHosts;
    if (hosts.size === 0) return 'default';
    const host = selectionHost(context.config.trustedProxies, facts as HostFacts);
    name = host === undefined ? undefined : tenantOfHost(hosts, host);
    if (name === undefined) return 'default';
  }
  return context.tenants.has(name) ? name : undefined;
}

export type EndpointKind = 'token' | 'revoke' | 'introspect' | 'feed';

function authMethodOf(facts: RequestFacts): string {
  const { authorization, params } = facts;
  if (authorization !== undefined)
    return basicPrefix.test(authorization) ? 'client_secret_basic' : 'other';
  if (!(params instanceof Map)) return 'none';
  if (params.has('client_secret')) return 'client_secret_post';
  if (params.has('client_assertion')) return 'private_key_jwt';
  // RFC 8705: client_id alone, over a TLS connection that may carry a client certificate.
  return params.has('client_id') && facts.tls ? 'tls_client_auth' : 'none';
}

/**
 * The client_id the request presented (not necessarily a registered one): from the Basic
 * header or the body's client_id (a private_key_jwt assertion without client_id: none).
 */
function clientIdOf(facts: RequestFacts): string | undefined {
  const { authorization, params } = facts;
  if (authorization === undefined)
    return params instanceof Map ? (params.get('client_id') as string | undefined) : undefined;
  const prefix = basicPrefix.exec(authorization);
  if (!prefix) return undefined;
  const decoded = Buffer.from(authorization.slice(prefix[0].length), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  const raw = decoded.slice(0, colon);
  return formUrlDecode(raw) ?? raw;
}

/** Counts a refusal at an endpoint that authenticates clients (before its response is sent). */
export function recordRefusal(
  context: TesseraContext,
  kind: EndpointKind,
  error: OAuthError,
  facts: RequestFacts,
): void {
  const { metrics } = context;
  const tenant = tenantLabel(context, facts);
  if (tenant === undefined) return;
  const reason = failureReason(error);
  if (reason !== undefined) {
    metrics.authFailures.inc(reason, '', 1, tenant);
    const clientId = clientIdOf(facts);
    const known = clientId !== undefined && context.clients.peek(clientId);
    metrics.activity.failed(known ? clientId : undefined, context.nowSeconds());
  }
  if (kind === 'token') metrics.tokenRequests.inc(error.error, authMethodOf(facts), 1, tenant);
  else if (kind === 'revoke') metrics.revocations.inc(error.error, '', 1, tenant);
  else if (kind === 'introspect') metrics.introspections.inc(error.error, '', 1, tenant);
  if (activeTracer !== undefined)
    annotateOutcome(error.error, error.error, knownClientId(context, facts));
}

/** The presented client_id if it names a registered client (spans record no other). */
function knownClientId(context: TesseraContext, facts: RequestFacts): string | undefined {
  const clientId = clientIdOf(facts);
  return clientId !== undefined && context.clients.peek(clientId) ? clientId : undefined;
}

const answeredOutcomes: Partial<Record<EndpointKind, string>> = {
  token: 'issued',
  revoke: 'revoked',
  introspect: 'answered',
};

/**
 * Counts an answered request (after its response is written). `clientId` saves decoding the
 * credentials again when the caller already knows whose token it issued.
 */
export function recordAnswer(
  context: TesseraContext,
  kind: EndpointKind,
  statusCode: number,
  elapsedMs: number,
  facts: RequestFacts,
  clientId: string | undefined = undefined,
): void {
  const { metrics } = context;
  const tenant = tenantLabel(context, facts);
  if (tenant === undefined) return;
  if (kind === 'token') {
    metrics.tokenLatency.observe(elapsedMs / 1000, tenant);
    if (statusCode === 200) {
      metrics.tokenRequests.inc('issued', authMethodOf(facts), 1, tenant);
      const issuedTo = clientId ?? clientIdOf(facts);
      if (issuedTo !== undefined) metrics.activity.issued(issuedTo, context.nowSeconds());
    }
  } else if (statusCode === 200) {
    if (kind === 'revoke') metrics.revocations.inc('revoked', '', 1, tenant);
    else if (kind === 'introspect') metrics.introspections.inc('answered', '', 1, tenant);
  }
  if (activeTracer !== undefined && statusCode === 200 && answeredOutcomes[kind] !== undefined) {
    annotateOutcome(answeredOutcomes[kind], undefined, clientId ?? knownClientId(context, facts));
  }
}

const factsOf = (request: FastifyRequest): RequestFacts => ({
  authorization: request.headers.authorization,
  params: request.body,
  tls: 'encrypted' in request.raw.socket,
  url: request.url,
  ...hostFactsOf(request.raw),
});

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * Counts requests at the endpoints that authenticate clients: the routes whose endpoint
 * declares a `kind` (route config `metricsKind`; `GET /metrics` is endpoints/metrics.ts).
 * Hooks are attached per route (from `onRoute`), so other routes pay nothing, and they are
 * callback-style and run after the response is written: the token path gains no `await`.
 */
export function registerMetrics(app: FastifyInstance, context: TesseraContext): void {
  const hooksFor = (kind: EndpointKind) => ({
    onError(
      request: FastifyRequest,
      _reply: FastifyReply,
      thrown: Error,
      done: HookHandlerDoneFunction,
    ) {
      recordRefusal(context, kind, toOAuthError(thrown), factsOf(request));
      done();
    },
    onResponse(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
      recordAnswer(context, kind, reply.statusCode, reply.elapsedTime, factsOf(request));
      done();
    },
  });

  const byKind = {
    token: hooksFor('token'),
    revoke: hooksFor('revoke'),
    introspect: hooksFor('introspect'),
    feed: hooksFor('feed'),
  };
  // Issue 21: the one `/t/:tenant/*` route serves every tenant's endpoints; which kind a
  // request was is known once the route found the endpoint (request.endpointKind).
  const tenantHooks = {
    onError(
      request: FastifyRequest,
      reply: FastifyReply,
      thrown: Error,
      done: HookHandlerDoneFunction,
    ) {
      const kind = request.endpointKind;
      if (kind === undefined) return done();
      byKind[kind].onError(request, reply, thrown, done);
    },
    onResponse(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
      const kind = request.endpointKind;
      if (kind === undefined) return done();
      byKind[kind].onResponse(request, reply, done);
    },
  };

  app.addHook('onRoute', (route: RouteOptions) => {
    const kind = route.config?.metricsKind;
    const hooks =
      kind !== undefined
        ? byKind[kind]
        : route.handler.name === 'tenantEndpointHandler'
          ? tenantHooks
          : undefined;
    if (hooks === undefined) return;
    route.onError = [...asArray(route.onError), hooks.onError] as RouteOptions['onError'];
    route.onResponse = [...asArray(route.onResponse), hooks.onResponse];
  });
}
