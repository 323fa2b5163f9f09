/**
 * OpenTelemetry tracing: with an OTLP endpoint configured, every request is a SERVER span
 * (OTel HTTP semantic conventions plus tessera.* attributes), child of the caller's
 * `traceparent`, with child spans for signing and store calls, exported over OTLP/HTTP to a
 * receiver in this process; the request's log lines carry the trace id; no span carries a
 * secret or a token.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';
import { loadConfig } from '../src/config.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: number | string;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Array<{ key: string; value: OtlpValue }>;
}
interface OtlpExport {
  resourceSpans: Array<{
    resource: { attributes: Array<{ key: string; value: OtlpValue }> };
    scopeSpans: Array<{ spans: OtlpSpan[] }>;
  }>;
}

const serverKind = 2;
const clientKind = 3;

/** An OTLP/HTTP receiver: keeps every JSON body POSTed to /v1/traces. */
async function startReceiver(): Promise<{ url: string; bodies: string[]; server: Server }> {
  const bodies: string[] = [];
  const server = createServer((incoming, response) => {
    let body = '';
    incoming.on('data', (chunk: Buffer) => (body += chunk));
    incoming.on('end', () => {
      assert.equal(incoming.url, '/v1/traces');
      assert.equal(incoming.headers['content-type'], 'application/json');
      bodies.push(body);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, bodies, server };
}

const attributesOf = (span: OtlpSpan) =>
  Object.fromEntries(
    span.attributes.map(({ key, value }) => [
      key,
      value.stringValue ??
        (value.intValue !== undefined ? Number(value.intValue) : value.boolValue),
    ]),
  );

/** A token request without Content-Length (chunked), which the fast path leaves to Fastify. */
function chunkedTokenRequest(url: string, authorization: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${url}/oauth/token`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on('error', reject);
    outgoing.write('grant_type=');
    outgoing.end('client_credentials');
  });
}

describe('OpenTelemetry tracing', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let tessera: TestTessera;
  const logLines: string[] = [];
  let spans: OtlpSpan[];
  let resourceAttributes: Record<string, unknown>;
  const secrets: string[] = [];
  const callerTraceId = randomBytes(16).toString('hex');
  const callerSpanId = randomBytes(8).toString('hex');
  let client: { clientId: string; clientSecret: string };

  before(async () => {
    receiver = await startReceiver();
    tessera = await startTessera({
      env: {
        TESSERA_OTEL_EXPORTER_OTLP_ENDPOINT: `${receiver.url}/`,
        OTEL_SERVICE_NAME: 'tessera-test',
      },
      logLevel: 'info',
      logStream: { write: (line) => void logLines.push(line) },
    });
    client = await tessera.createClient({ scope: 'read' });
    const adminClient = await tessera.createClient({ scope: 'tessera:admin' });
    secrets.push(client.clientSecret, adminClient.clientSecret);

    // 1. The fast path, with the caller's trace context.
    const issued = await postForm(
      `${tessera.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      {
        authorization: basicAuthorization(client.clientId, client.clientSecret),
        traceparent: `00-${callerTraceId}-${callerSpanId}-01`,
        'x-request-id': 'traced-token',
      },
    );
    assert.equal(issued.status, 200, issued.text);
    secrets.push((issued.body as { access_token: string }).access_token);
    secrets.push(basicAuthorization(client.clientId, client.clientSecret));
    // 2. A refusal.
    const refused = await postForm(
      `${tessera.url}/oauth/token`,
      { grant_type: 'client_credentials' },
      {
        authorization: basicAuthorization(client.clientId, 'not the secret'),
        'x-request-id': 'refused-token',
      },
    );
    assert.equal(refused.status, 401);
    // 3. The Fastify route of the token endpoint.
    assert.equal(
      await chunkedTokenRequest(
        tessera.url,
        basicAuthorization(client.clientId, client.clientSecret),
      ),
      200,
    );
    // 4. An admin request that reads the store.
    const adminToken = await getToken(tessera.url, adminClient);
    secrets.push(adminToken);
    const listed = await fetch(`${tessera.url}/admin/v1/clients`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    assert.equal(listed.status, 200);
    await listed.text();

    // Closing flushes the exporter's queue.
    await tessera.close();
    const exports = receiver.bodies.map((body) => JSON.parse(body) as OtlpExport);
    spans = exports.flatMap((exported) =>
      exported.resourceSpans.flatMap((resource) =>
        resource.scopeSpans.flatMap((scope) => scope.spans),
      ),
    );
    resourceAttributes = attributesOf({
      attributes: exports[0]!.resourceSpans[0]!.resource.attributes,
    } as OtlpSpan);
  });
  after(async () => {
    await new Promise((resolve) => receiver.server.close(resolve));
  });

  const tokenSpans = () => spans.filter((span) => span.name === 'POST /oauth/token');

  it('exports one SERVER span per request, named after the route, under the caller’s trace', () => {
    assert.equal(resourceAttributes['service.name'], 'tessera-test');
    const traced = tokenSpans().filter((span) => span.traceId === callerTraceId);
    assert.equal(traced.length, 1, JSON.stringify(tokenSpans()));
    const [span] = traced;
    assert.equal(span!.kind, serverKind);
    assert.equal(span!.parentSpanId, callerSpanId);
    assert.deepEqual(attributesOf(span!), {
      'http.request.method': 'POST',
      'url.path': '/oauth/token',
      'url.scheme': 'http',
      'http.route': '/oauth/token',
      'http.response.status_code': 200,
      'tessera.outcome': 'issued',
      'tessera.client_id': client.clientId,
    });
  });

  it('records a refusal’s OAuth error code and outcome', () => {
    const refused = tokenSpans().filter(
      (span) => attributesOf(span)['http.response.status_code'] === 401,
    );
    assert.equal(refused.length, 1);
    assert.notEqual(refused[0]!.traceId, callerTraceId);
    assert.equal(refused[0]!.parentSpanId ?? '', '');
    assert.deepEqual(attributesOf(refused[0]!), {
      'http.request.method': 'POST',
      'url.path': '/oauth/token',
      'url.scheme': 'http',
      'http.route': '/oauth/token',
      'http.response.status_code': 401,
      'tessera.outcome': 'invalid_client',
      'oauth.error': 'invalid_client',
      'tessera.client_id': client.clientId,
    });
  });

  it('traces the Fastify route of the token endpoint the same way', () => {
    // The traced one, the refused one, the chunked one and the admin token.
    assert.equal(tokenSpans().length, 4);
    const issued = tokenSpans().filter(
      (span) => attributesOf(span)['tessera.outcome'] === 'issued',
    );
    assert.equal(issued.length, 3);
  });

  it('makes child spans for signing and for store calls', () => {
    for (const token of tokenSpans().filter(
      (span) => attributesOf(span)['tessera.outcome'] === 'issued',
    )) {
      const signs = spans.filter(
        (span) => span.name === 'sign' && span.parentSpanId === token.spanId,
      );
      assert.equal(signs.length, 1, `one sign span under ${token.spanId}`);
      assert.equal(signs[0]!.traceId, token.traceId);
      assert.equal(attributesOf(signs[0]!)['tessera.signing.alg'], 'RS256');
    }
    const admin = spans.find((span) => span.name === 'GET /admin/v1/clients');
    assert.ok(admin, spans.map((span) => span.name).join(', '));
    assert.equal(attributesOf(admin)['http.route'], '/admin/v1/clients');
    const store = spans.filter(
      (span) => span.parentSpanId === admin.spanId && span.name.startsWith('store '),
    );
    assert.ok(store.length >= 1, 'a store span under the admin request');
    assert.equal(store[0]!.kind, clientKind);
    assert.equal(attributesOf(store[0]!)['db.system.name'], 'sqlite');
    assert.equal(store[0]!.traceId, admin.traceId);
    // Store calls outside requests (change polling, key maintenance) make no spans.
    const spanIds = new Set(spans.map((span) => span.spanId));
    for (const span of spans.filter((candidate) => candidate.name.startsWith('store ')))
      assert.ok(spanIds.has(span.parentSpanId ?? ''), `${span.name} has a parent`);
  });

  it('writes the trace id in the request’s log lines', () => {
    const lines = logLines
      .map((line) => JSON.parse(line) as { reqId?: string; trace_id?: string; msg: string })
      .filter((line) => line.reqId === 'traced-token');
    // The request line (one per request, issue 24) and any other line written inside it.
    assert.ok(
      lines.some((line) => line.msg === 'request completed'),
      JSON.stringify(lines),
    );
    for (const line of lines) assert.equal(line.trace_id, callerTraceId, line.msg);
  });

  it('puts no secret, token or Authorization header in any span', () => {
    const exported = receiver.bodies.join('\n');
    for (const secret of secrets) assert.ok(!exported.includes(secret), 'a secret was exported');
    for (const span of spans) {
      for (const { key } of span.attributes) {
        assert.ok(!/authorization|secret|token|assertion/i.test(key), key);
      }
    }
  });
});

describe('tracing settings', () => {
  const tracing = (env: NodeJS.ProcessEnv) => loadConfig(env, { dataDir: tmpdir() }).tracing;
  const on = { sampler: { name: 'parentbased_always_on', ratio: 1 }, serviceName: 'tessera' };
  it('is off without an endpoint, or with OTEL_SDK_DISABLED=true', () => {
    assert.equal(tracing({}), undefined);
    assert.equal(
      tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }),
      undefined,
    );
  });
  it('appends /v1/traces to the base URL; takes the traces URL as given', () => {
    assert.deepEqual(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), {
      ...on,
      tracesUrl: 'http://c:4318/v1/traces',
    });
    assert.deepEqual(
      tracing({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://standard:4318',
        TESSERA_OTEL_EXPORTER_OTLP_ENDPOINT: 'https://ours:4318/otlp/',
        OTEL_SERVICE_NAME: 'auth',
      }),
      { ...on, serviceName: 'auth', tracesUrl: 'https://ours:4318/otlp/v1/traces' },
    );
    assert.deepEqual(
      tracing({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4318/custom',
      }),
      { ...on, tracesUrl: 'http://t:4318/custom' },
    );
  });
  it('reads the standard sampler variables', () => {
    assert.deepEqual(
      tracing({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
        OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
        OTEL_TRACES_SAMPLER_ARG: '0.25',
      })?.sampler,
      { name: 'parentbased_traceidratio', ratio: 0.25 },
    );
  });
  it('refuses a bad value, naming the variable', () => {
    assert.throws(
      () => tracing({ TESSERA_OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }),
      /TESSERA_OTEL_EXPORTER_OTLP_ENDPOINT must be an http\(s\) URL/,
    );
    assert.throws(
      () => tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_TRACES_SAMPLER: 'x' }),
      /OTEL_TRACES_SAMPLER must be one of/,
    );
    assert.throws(
      () =>
        tracing({
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c',
          OTEL_TRACES_SAMPLER: 'traceidratio',
          OTEL_TRACES_SAMPLER_ARG: '2',
        }),
      /OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/,
    );
  });
});
