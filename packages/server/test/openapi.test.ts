/**
 * /openapi.json is generated from the endpoint table; this keeps it honest against the
 * server itself: it names exactly the routes the app serves, and every route's real answers
 * (status, media type, body) are the ones it documents. Every operation is called at least once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { basicAuthorization, startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';
import { tenantWithClient } from './support/tenants.js';

interface Operation {
  'x-tessera-tenant'?: boolean;
  'x-tessera-alias'?: string;
  responses: Record<string, { content?: Record<string, { schema?: object }> }>;
}
interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: object;
}

/** Every method+path the app serves, in OpenAPI's path syntax, without 405 and HEAD twins. */
function listRoutes(app: TestTessera['server']['app']): string[] {
  const routes = new Set<string>();
  const seen =
    (
      app as unknown as {
        tesseraRoutes?: Array<{ method: string; url: string; handlerName: string }>;
      }
    ).tesseraRoutes ?? [];
  for (const route of seen) {
    if (route.method === 'HEAD' || route.handlerName === 'methodNotAllowed') continue;
    // Issue 21: `/t/:tenant/*` serves every tenant's copy of the documented OAuth endpoints
    // (tenants.test.ts); it is one catch-all, not routes of its own.
    if (route.handlerName === 'tenantEndpointHandler') continue;
    routes.add(`${route.method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
  }
  return [...routes];
}

/**
 * Every documented method+path; without `mounted`, also the tenant twins (issue 21), which the
 * one `/t/:tenant/*` route serves rather than routes of their own.
 */
const documentedRoutes = (document: OpenApi, { mounted = false } = {}) =>
  Object.entries(document.paths).flatMap(([path, operations]) =>
    Object.entries(operations)
      .filter(
        ([method, operation]) =>
          method !== 'servers' &&
          !(mounted && (operation['x-tessera-tenant'] || operation['x-tessera-alias'])),
      )
      .map(([method]) => `${method.toUpperCase()} ${path}`),
  );

/** Checks real answers against one server's document and remembers which operations ran. */
class Conformance {
  readonly called = new Set<string>();
  readonly #ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  readonly #validators = new Map<string, ValidateFunction>();

  constructor(
    readonly tessera: TestTessera,
    readonly document: OpenApi,
  ) {
    this.#ajv.addSchema(document as object, 'openapi');
  }

  /** The documented path template a concrete path matches. */
  template(path: string): string {
    const found = Object.keys(this.document.paths).find((template) =>
      new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`).test(path),
    );
    assert.ok(found, `${path} is documented`);
    return found;
  }

  /** Sends a request and checks the answer against the document; returns the parsed body. */
  async call(
    method: string,
    path: string,
    init: { headers?: Record<string, string>; body?: string | undefined } = {},
    expected?: number,
  ): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.tessera.url}${path}`, { method, ...init });
    const text = await response.text();
    const label = `${method} ${path} → ${response.status}`;
    if (expected !== undefined) assert.equal(response.status, expected, `${label}: ${text}`);
    const template = this.template(path.split('?', 1)[0]!);
    const operations = this.document.paths[template]!;
    // A 405 twin is described on the operations of its path.
    const verb = response.status === 405 ? Object.keys(operations)[0]! : method.toLowerCase();
    const operation = operations[verb];
    assert.ok(operation, `${label}: the operation is documented`);
    if (response.status !== 405) this.called.add(`${method} ${template}`);
    const documented = operation.responses[String(response.status)];
    assert.ok(documented, `${label}: the status is documented (${text})`);
    const contentType = response.headers.get('content-type')?.split(';', 1)[0];
    const media = Object.entries(documented.content ?? {});
    if (media.length === 0) {
      assert.equal(text, '', `${label}: no body is documented`);
      return { status: response.status, body: undefined };
    }
    const [type, { schema }] = media[0]!;
    if (type !== '*/*') assert.equal(contentType, type, `${label}: media type`);
    if (!schema) return { status: response.status, body: text };
    const body = JSON.parse(text) as unknown;
    const pointer = ['paths', template, verb, 'responses', String(response.status), 'content', type]
      .map((part) => encodeURIComponent(part.replace(/~/g, '~0').replace(/\//g, '~1')))
      .join('/');
    const key = `openapi#/${pointer}/schema`;
    let validate = this.#validators.get(key);
    if (!validate) {
      validate = this.#ajv.compile({ $ref: key });
      this.#validators.set(key, validate);
    }
    // The message names the failing fields only: bodies may hold tokens and secrets.
    assert.ok(validate(body), `${label}: ${this.#ajv.errorsText(validate.errors)}`);
    return { status: response.status, body };
  }
}

const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: new URLSearchParams(fields).toString(),
});
const jsonBody = (value: unknown, headers: Record<string, string> = {}) => ({
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(value),
});

async function documentOf(tessera: TestTessera): Promise<OpenApi> {
  return (await (await fetch(`${tessera.url}/openapi.json`)).json()) as OpenApi;
}

describe('OpenAPI document', () => {
  it('describes exactly the routes the server serves', async () => {
    const tessera = await startTessera();
    try {
      const document = await documentOf(tessera);
      assert.equal(document.openapi, '3.1.0');
      const documented = documentedRoutes(document, { mounted: true }).sort();
      const routes = listRoutes(tessera.server.app);
      assert.ok(routes.length > 10);
      assert.deepEqual(routes.sort(), documented);
    } finally {
      await tessera.close();
    }
  });

  it('describes a preset server too, with the preset paths', async () => {
    const tessera = await startTessera({ preset: 'tesouro' });
    try {
      const document = await documentOf(tessera);
      const documented = documentedRoutes(document, { mounted: true }).sort();
      assert.ok(documented.includes('POST /openid/connect/token'));
      // Issue 21: the tenants' twins of the preset paths are documented too.
      const twins = documentedRoutes(document);
      assert.ok(twins.includes('POST /t/{tenant}/openid/connect/token'));
      assert.ok(twins.includes('POST /t/{tenant}/v1/auth/revoke'));
      assert.ok(documented.includes('POST /v1/auth/revoke'));
      assert.deepEqual(listRoutes(tessera.server.app).sort(), documented);
    } finally {
      await tessera.close();
    }
  });
});

describe('OpenAPI document: every route answers as documented', () => {
  let tessera: TestTessera;
  let api: Conformance;
  let basic: string;
  let admin: Record<string, string>;
  before(async () => {
    tessera = await startTessera();
    api = new Conformance(tessera, await documentOf(tessera));
    const client = await tessera.createClient({ scope: 'tessera:introspect' });
    basic = basicAuthorization(client.clientId, client.clientSecret);
    const adminClient = await tessera.createClient({ scope: 'tessera:admin' });
    admin = { authorization: `Bearer ${await getToken(tessera.url, adminClient)}` };
  });
  after(() => tessera.close());

  it('the OAuth endpoints', async () => {
    const grant = { grant_type: 'client_credentials' };
    const issued = await api.call(
      'POST',
      '/oauth/token',
      form(grant, { authorization: basic }),
      200,
    );
    const token = (issued.body as { access_token: string }).access_token;
    await api.call(
      'POST',
      '/oauth/token',
      form({ grant_type: 'password' }, { authorization: basic }),
      400,
    );
    await api.call(
      'POST',
      '/oauth/token',
      form(grant, { authorization: basicAuthorization('x', 'y') }),
      401,
    );
    await api.call('GET', '/oauth/token', {}, 405);
    // RFC 9449: a token bound to a DPoP key is of type DPoP.
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const proof = await new SignJWT({
      htm: 'POST',
      htu: `${tessera.url}/oauth/token`,
      jti: crypto.randomUUID(),
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await exportJWK(publicKey) })
      .setIssuedAt()
      .sign(privateKey);
    const bound = await api.call(
      'POST',
      '/oauth/token',
      form(grant, { authorization: basic, dpop: proof }),
      200,
    );
    assert.equal((bound.body as { token_type: string }).token_type, 'DPoP');
    await api.call('POST', '/oauth/token', form({ ...grant, pad: 'x'.repeat(20_000) }), 413);
    const auth = { authorization: basic };
    await api.call('POST', '/oauth/introspect', form({ token }, auth), 200);
    await api.call('POST', '/oauth/introspect', form({ token: 'nonsense' }, auth), 200);
    await api.call('POST', '/oauth/introspect', form({}, auth), 400);
    await api.call('POST', '/oauth/revoke', form({ token }, auth), 200);
    await api.call('POST', '/oauth/revoke', form({}, auth), 400);
    await api.call('PUT', '/oauth/revoke', {}, 405);
    await api.call('GET', '/oauth/revocations', { headers: auth }, 200);
    await api.call('GET', '/oauth/revocations?since=x', { headers: auth }, 400);
    await api.call('GET', '/oauth/revocations', {}, 401);
  });

  it('the public endpoints', async () => {
    for (const path of [
      '/.well-known/jwks.json',
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
      '/healthz',
      '/readyz',
      '/openapi.json',
      '/metrics',
      '/console',
      '/console/main.js',
    ])
      await api.call('GET', path, {}, 200);
    await api.call('GET', '/console/nothing-here', {}, 404);
    // Without an identity provider: the sign-in routes say so; sign-out has nothing to end.
    await api.call('GET', '/console/session', {}, 200);
    await api.call('GET', '/console/sign-in', {}, 404);
    await api.call('GET', '/console/callback', {}, 404);
    await api.call('POST', '/console/sign-out', {}, 204);
  });

  it('the admin API', async () => {
    await api.call('GET', '/admin/v1/clients', {}, 401);
    await api.call('GET', '/admin/v1/clients', { headers: { authorization: 'Basic x' } }, 400);
    const plain = await tessera.createClient();
    const weak = { authorization: `Bearer ${await getToken(tessera.url, plain)}` };
    await api.call('GET', '/admin/v1/clients', { headers: weak }, 403);
    await api.call('GET', '/admin/v1/clients', { headers: admin }, 200);
    const created = await api.call(
      'POST',
      '/admin/v1/clients',
      jsonBody({ name: 'a' }, admin),
      201,
    );
    const id = (created.body as { client_id: string }).client_id;
    await api.call('POST', '/admin/v1/clients', jsonBody({ name: 1 }, admin), 400);
    await api.call('POST', '/admin/v1/clients', jsonBody({ client_id: id }, admin), 409);
    await api.call('GET', `/admin/v1/clients/${id}`, { headers: admin }, 200);
    await api.call('GET', '/admin/v1/clients/unknown', { headers: admin }, 404);
    await api.call('PATCH', `/admin/v1/clients/${id}`, jsonBody({ scope: 'read' }, admin), 200);
    // Issue 19: claims in the client documents, and a token with them introspected.
    const withClaims = { claims: { merchant: 'm-1', limits: { daily: 1 } } };
    await api.call('PATCH', `/admin/v1/clients/${id}`, jsonBody(withClaims, admin), 200);
    const reserved = jsonBody({ claims: { iss: 'x' } }, admin);
    await api.call('PATCH', `/admin/v1/clients/${id}`, reserved, 400);
    const claimed = await api.call(
      'POST',
      '/admin/v1/clients',
      jsonBody({ name: 'claims', ...withClaims }, admin),
      201,
    );
    const { client_id: claimedId, client_secret: claimedSecret } = claimed.body as {
      client_id: string;
      client_secret: string;
    };
    const claimedToken = await getToken(tessera.url, {
      clientId: claimedId,
      clientSecret: claimedSecret,
    });
    const introspected = await api.call(
      'POST',
      '/oauth/introspect',
      form({ token: claimedToken }, { authorization: basic }),
      200,
    );
    assert.equal((introspected.body as { merchant: string }).merchant, 'm-1');
    await api.call('POST', `/admin/v1/clients/${id}/disable`, { headers: admin }, 200);
    await api.call('POST', `/admin/v1/clients/${id}/enable`, { headers: admin }, 200);
    await api.call('POST', `/admin/v1/clients/${id}/rotate-secret`, jsonBody({}, admin), 200);
    await api.call(
      'PATCH',
      `/admin/v1/clients/${id}`,
      jsonBody({ token_quota: '5/s,100/h', reuse_tokens: true }, admin),
      200,
    );
    await api.call('GET', `/admin/v1/clients/${id}/usage`, { headers: admin }, 200);
    await api.call('DELETE', `/admin/v1/clients/${id}`, { headers: admin }, 204);
    await api.call('GET', '/admin/v1/keys', { headers: admin }, 200);
    await api.call('POST', '/admin/v1/keys/rotate', jsonBody({ alg: 'ES256' }, admin), 201);
    await api.call('POST', '/admin/v1/keys/rotate', jsonBody({ alg: 'none' }, admin), 400);
    await api.call('GET', '/admin/v1/audit', { headers: admin }, 200);
    await api.call('GET', '/admin/v1/audit?limit=0', { headers: admin }, 400);
    await api.call('GET', '/admin/v1/activity', { headers: admin }, 200);
    await api.call('GET', '/admin/v1/activity?client_id=', { headers: admin }, 400);
    await api.call('GET', '/admin/v1/activity/clients', { headers: admin }, 200);
    const operator = { email: 'alice@example.com', role: 'operator' };
    await api.call('POST', '/admin/v1/operators', jsonBody(operator, admin), 200);
    await api.call(
      'POST',
      '/admin/v1/operators',
      jsonBody({ ...operator, role: 'root' }, admin),
      400,
    );
    await api.call('GET', '/admin/v1/operators', { headers: admin }, 200);
    await api.call('DELETE', '/admin/v1/operators/alice@example.com', { headers: admin }, 204);
    await api.call('DELETE', '/admin/v1/operators/alice@example.com', { headers: admin }, 404);
  });

  it('the admin API of tenants (issue 21)', async () => {
    const t = '/admin/v1/tenants';
    await api.call('POST', t, jsonBody({ name: 'docs', token_ttl: 600 }, admin), 201);
    await api.call('POST', t, jsonBody({ name: 'docs' }, admin), 409);
    await api.call('POST', t, jsonBody({ name: 'No Name' }, admin), 400);
    await api.call('GET', t, { headers: admin }, 200);
    await api.call('GET', `${t}/docs`, { headers: admin }, 200);
    await api.call('GET', `${t}/nope`, { headers: admin }, 404);
    await api.call('GET', `${t}/default`, { headers: admin }, 409);
    await api.call('PATCH', `${t}/docs`, jsonBody({ preset: null }, admin), 200);
    await api.call(
      'PATCH',
      `${t}/docs`,
      jsonBody({ auth_failure_limits: { per_client: 3, lock_seconds: null } }, admin),
      200,
    );
    await api.call('PATCH', `${t}/docs`, jsonBody({ token_hook: 'none' }, admin), 200);
    await api.call('PATCH', `${t}/docs`, jsonBody({ token_hook: { timeout_ms: 5 } }, admin), 400);
    await api.call('PATCH', `${t}/docs`, jsonBody({ token_ttl: -1 }, admin), 400);
    await api.call('PATCH', `${t}/nope`, jsonBody({ token_ttl: 60 }, admin), 404);
    const created = await api.call(
      'POST',
      `${t}/docs/clients`,
      jsonBody({ name: 'in docs' }, admin),
      201,
    );
    const id = (created.body as { client_id: string }).client_id;
    await api.call('POST', `${t}/docs/clients`, jsonBody({ name: 1 }, admin), 400);
    await api.call('GET', `${t}/docs/clients`, { headers: admin }, 200);
    await api.call('GET', `${t}/nope/clients`, { headers: admin }, 404);
    await api.call('GET', `${t}/docs/clients/${id}`, { headers: admin }, 200);
    await api.call('PATCH', `${t}/docs/clients/${id}`, jsonBody({ scope: 'read' }, admin), 200);
    await api.call('GET', `${t}/docs/clients/${id}/usage`, { headers: admin }, 200);
    await api.call('POST', `${t}/docs/clients/${id}/disable`, { headers: admin }, 200);
    await api.call('POST', `${t}/docs/clients/${id}/enable`, { headers: admin }, 200);
    await api.call('POST', `${t}/docs/clients/${id}/rotate-secret`, jsonBody({}, admin), 200);
    await api.call('GET', `${t}/docs/keys`, { headers: admin }, 200);
    await api.call('POST', `${t}/docs/keys/rotate`, jsonBody({ alg: 'ES256' }, admin), 201);
    await api.call('GET', `${t}/docs/audit`, { headers: admin }, 200);
    const person = { email: 'docs@example.com', role: 'viewer' };
    await api.call('POST', `${t}/docs/operators`, jsonBody(person, admin), 200);
    await api.call('POST', `${t}/docs/operators`, jsonBody({ ...person, role: 'x' }, admin), 400);
    await api.call('POST', `${t}/nope/operators`, jsonBody(person, admin), 404);
    await api.call('GET', `${t}/docs/operators`, { headers: admin }, 200);
    await api.call('GET', `${t}/default/operators`, { headers: admin }, 409);
    await api.call('DELETE', `${t}/docs/operators/docs@example.com`, { headers: admin }, 204);
    await api.call('DELETE', `${t}/docs/operators/docs@example.com`, { headers: admin }, 404);
    await api.call('DELETE', `${t}/docs`, { headers: admin }, 409);
    await api.call('DELETE', `${t}/docs?force=no`, { headers: admin }, 400);
    await api.call('DELETE', `${t}/docs/clients/${id}`, { headers: admin }, 204);
    await api.call('DELETE', `${t}/docs`, { headers: admin }, 204);
    await api.call('DELETE', `${t}/docs`, { headers: admin }, 404);
  });

  it("a tenant's endpoints, at /t/{tenant}/… and the RFC 8414 §3.1 discovery URLs (issue 21)", async () => {
    const twin = await tenantWithClient(tessera.server.context, 'twin');
    await tessera.server.context.syncChanges();
    const auth = { authorization: basicAuthorization(twin.clientId, twin.clientSecret) };
    const grant = { grant_type: 'client_credentials' };
    const t = '/t/twin';
    // The first request loads the tenant (the Fastify route); later tokens take the fast path.
    const issued = await api.call('POST', `${t}/oauth/token`, form(grant, auth), 200);
    const token = (issued.body as { access_token: string }).access_token;
    await api.call('POST', `${t}/oauth/token`, form(grant, auth), 200);
    await api.call('POST', `${t}/oauth/token`, form({ grant_type: 'password' }, auth), 400);
    // The default tenant's client is unknown here.
    await api.call('POST', `${t}/oauth/token`, form(grant, { authorization: basic }), 401);
    await api.call('GET', `${t}/oauth/token`, {}, 405);
    await api.call('POST', `${t}/oauth/token`, form({ ...grant, pad: 'x'.repeat(20_000) }), 413);
    await api.call('POST', '/t/nope/oauth/token', form(grant, auth), 404);
    await api.call('POST', `${t}/oauth/introspect`, form({ token }, auth), 200);
    await api.call('POST', `${t}/oauth/introspect`, form({}, auth), 400);
    await api.call('POST', '/t/nope/oauth/introspect', form({ token }, auth), 404);
    await api.call('POST', `${t}/oauth/revoke`, form({ token }, auth), 200);
    await api.call('POST', `${t}/oauth/revoke`, form({}, auth), 400);
    await api.call('PUT', `${t}/oauth/revoke`, {}, 405);
    await api.call('POST', '/t/nope/oauth/revoke', form({ token }, auth), 404);
    await api.call('GET', `${t}/oauth/revocations`, { headers: auth }, 200);
    await api.call('GET', `${t}/oauth/revocations?since=x`, { headers: auth }, 400);
    await api.call('GET', `${t}/oauth/revocations`, {}, 401);
    await api.call('GET', '/t/nope/oauth/revocations', { headers: auth }, 404);
    for (const path of [
      '/.well-known/jwks.json',
      '/.well-known/oauth-authorization-server',
      '/.well-known/openid-configuration',
    ]) {
      await api.call('GET', `${t}${path}`, {}, 200);
      await api.call('GET', `/t/nope${path}`, {}, 404);
    }
    for (const name of ['oauth-authorization-server', 'openid-configuration']) {
      const inserted = await api.call('GET', `/.well-known/${name}/t/twin`, {}, 200);
      assert.equal((inserted.body as { issuer: string }).issuer, `${tessera.url}/t/twin`);
      await api.call('GET', `/.well-known/${name}/t/nope`, {}, 404);
    }
  });

  it('called every documented operation', () => {
    assert.deepEqual([...api.called].sort(), documentedRoutes(api.document).sort());
  });
});

describe('OpenAPI document: a preset server answers as documented', () => {
  let tessera: TestTessera;
  let api: Conformance;
  before(async () => {
    tessera = await startTessera({ preset: 'tesouro' });
    api = new Conformance(tessera, await documentOf(tessera));
  });
  after(() => tessera.close());

  it('the preset token and revoke paths', async () => {
    const { clientId, clientSecret } = await tessera.createClient();
    const credentials = { client_id: clientId, client_secret: clientSecret };
    const grant = { grant_type: 'client_credentials', ...credentials };
    const issued = await api.call('POST', '/openid/connect/token', form(grant), 200);
    const token = (issued.body as { access_token: string }).access_token;
    await api.call('POST', '/openid/connect/token', form({ ...grant, grant_type: 'x' }), 400);
    await api.call('POST', '/openid/connect/token', jsonBody(grant), 400);
    const version = { 'x-finops-version': '2025-06-23' };
    await api.call('POST', '/v1/auth/revoke', jsonBody({ ...credentials, token }, version), 200);
    await api.call('POST', '/v1/auth/revoke', jsonBody({ ...credentials, token }), 400);
    await api.call(
      'POST',
      '/v1/auth/revoke',
      jsonBody({ client_id: clientId, token }, version),
      401,
    );
    await api.call('GET', '/v1/auth/revoke', {}, 405);
  });
});
