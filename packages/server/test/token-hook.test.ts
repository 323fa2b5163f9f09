/**
 * Issue 19, the token hook: a real node:http receiver on loopback answers Tessera's signed
 * requests; tokens carry its claims, its narrowing and its denials; failures (timeout,
 * garbage, non-200, too large, down) follow the deny or allow policy, are counted and logged.
 */
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { after, before, beforeEach, describe, it } from 'node:test';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';

const secret = 'hook-secret-0123456789abcdef';

interface HookRequest {
  headers: IncomingMessage['headers'];
  raw: string;
  body: Record<string, unknown>;
}

/** A token hook receiver: records each request, answers with `reply`. */
async function hookReceiver() {
  const received: HookRequest[] = [];
  let reply: (request: HookRequest, response: ServerResponse) => void = (_r, response) =>
    json(response, 200, {});
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const hookRequest = { headers: request.headers, raw, body: JSON.parse(raw) };
      received.push(hookRequest);
      reply(hookRequest, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    answer(next: typeof reply) {
      reply = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(text);
}

/**
 * What a hook does with `Tessera-Signature`: checks the HMAC of "<t>.<raw body>" and refuses
 * a timestamp older than `toleranceSeconds`, and a request id it has already seen.
 */
function verifyHookRequest(
  header: string | undefined,
  raw: string,
  nowSeconds: number,
  seen: Set<string>,
  toleranceSeconds = 300,
): 'ok' | 'bad signature' | 'stale' | 'replayed' {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) return 'bad signature';
  const expected = createHmac('sha256', secret).update(`${match[1]}.${raw}`).digest();
  if (!timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'))) return 'bad signature';
  if (Math.abs(nowSeconds - Number(match[1])) > toleranceSeconds) return 'stale';
  const requestId = (JSON.parse(raw) as { request_id: string }).request_id;
  if (seen.has(requestId)) return 'replayed';
  seen.add(requestId);
  return 'ok';
}

const metricValue = async (url: string, reason: string) => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((row) =>
      row.startsWith(`tessera_token_hook_failures_total{reason="${reason}",tenant="default"}`),
    );
  return line === undefined ? 0 : Number(line.split(' ').pop());
};

describe('token hook', () => {
  let hook: Awaited<ReturnType<typeof hookReceiver>>;
  let deny: TestTessera;
  let allow: TestTessera;
  let down: TestTessera;
  const logs: string[] = [];
  let client: { clientId: string; clientSecret: string };
  let allowClient: { clientId: string; clientSecret: string };

  before(async () => {
    hook = await hookReceiver();
    const env = { TESSERA_TOKEN_HOOK_SECRET: secret };
    deny = await startTessera({
      env,
      tokenHook: { url: hook.url, timeoutMs: 1000, failure: 'deny' },
      logLevel: 'info',
      logStream: { write: (line) => logs.push(line) },
    });
    allow = await startTessera({
      env,
      tokenHook: { url: hook.url, timeoutMs: 1000, failure: 'allow' },
    });
    // A port nothing listens on: the hook is down.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    down = await startTessera({
      env,
      tokenHook: { url: `http://127.0.0.1:${deadPort}/hook`, timeoutMs: 1000, failure: 'deny' },
    });
    const created = await deny.registry.create({
      name: 'Merchant',
      scope: 'a b c',
      audiences: ['https://api.one.test', 'https://api.two.test'],
      claims: { merchant: 'm-1', plan: 'client-plan' },
    });
    client = { clientId: created.client.clientId, clientSecret: created.clientSecret };
    allowClient = await allow.createClient({ scope: 'a b' });
  });
  after(async () => {
    await Promise.all([deny.close(), allow.close(), down.close()]);
    await hook.close();
  });
  beforeEach(() => {
    hook.received.length = 0;
    logs.length = 0;
  });

  const token = (
    server: TestTessera,
    who: { clientId: string; clientSecret: string },
    params: Record<string, string> = {},
    headers: Record<string, string> = {},
    path = '/oauth/token',
  ) =>
    postForm(
      `${server.url}${path}`,
      { grant_type: 'client_credentials', ...params },
      { authorization: basicAuthorization(who.clientId, who.clientSecret), ...headers },
    );

  it('is asked with a signed body and adds its claims, never over the names Tessera owns', async () => {
    hook.answer((_request, response) =>
      json(response, 200, {
        claims: {
          plan: 'hook-plan',
          roles: ['payout'],
          iss: 'https://evil.test',
          sub: 'x',
          scope: 'all',
        },
      }),
    );
    const result = await token(
      deny,
      client,
      { resource: 'https://api.one.test' },
      {
        'x-request-id': 'req-hook-1',
      },
    );
    assert.equal(result.status, 200, result.text);
    const claims = decodeJwt((result.body as { access_token: string }).access_token);
    assert.equal(claims.plan, 'hook-plan', 'the hook wins over the client');
    assert.equal(claims.merchant, 'm-1');
    assert.deepEqual(claims.roles, ['payout']);
    assert.equal(claims.iss, deny.issuer);
    assert.equal(claims.sub, client.clientId);
    assert.equal(claims.scope, 'a b c');

    assert.equal(hook.received.length, 1);
    const [request] = hook.received;
    assert.equal(request!.headers['content-type'], 'application/json');
    assert.equal(request!.headers['x-request-id'], 'req-hook-1');
    assert.equal(request!.headers.connection, 'keep-alive');
    const { client: sent, ...rest } = request!.body as { client: Record<string, unknown> };
    assert.deepEqual(rest, {
      scope: 'a b c',
      audience: ['https://api.one.test'],
      binding: null,
      source_address: '127.0.0.1',
      request_id: 'req-hook-1',
      tenant: 'default',
    });
    assert.equal(sent.client_id, client.clientId);
    assert.equal(sent.name, 'Merchant');
    assert.deepEqual(sent.claims, { merchant: 'm-1', plan: 'client-plan' });
    assert.equal(sent.auth_method, 'any');
    assert.equal(sent.secrets, undefined, 'never the secrets');
    assert.ok(!request!.raw.includes(client.clientSecret));
    const seen = new Set<string>();
    const now = Math.floor(Date.now() / 1000);
    assert.equal(
      verifyHookRequest(request!.headers['tessera-signature'] as string, request!.raw, now, seen),
      'ok',
    );
  });

  it('signs so a hook can detect tampered, stale and replayed requests', async () => {
    hook.answer((_request, response) => json(response, 200, {}));
    assert.equal((await token(deny, client)).status, 200);
    assert.equal((await token(deny, client)).status, 200);
    const [first, second] = hook.received;
    const header = first!.headers['tessera-signature'] as string;
    const t = Number(/^t=(\d+),/.exec(header)![1]);
    assert.ok(Math.abs(t - Date.now() / 1000) < 5, 'the timestamp is now, in unix seconds');
    const seen = new Set<string>();
    assert.equal(verifyHookRequest(header, first!.raw, t, seen), 'ok');
    // The same request again: its request id was seen (and it soon becomes stale).
    assert.equal(verifyHookRequest(header, first!.raw, t, seen), 'replayed');
    assert.equal(verifyHookRequest(header, first!.raw, t + 301, new Set()), 'stale');
    assert.equal(
      verifyHookRequest(header, first!.raw.replace('"a b c"', '"a"'), t, new Set()),
      'bad signature',
    );
    // Another token request is signed apart, with its own request id.
    assert.notEqual(second!.body.request_id, first!.body.request_id);
    assert.equal(
      verifyHookRequest(second!.headers['tessera-signature'] as string, second!.raw, t, seen),
      'ok',
    );
  });

  it('narrows scope and audience and shortens the lifetime, never widening or lengthening', async () => {
    hook.answer((_request, response) =>
      json(response, 200, { scope: 'a', audience: ['https://api.two.test'], expires_in: 60 }),
    );
    const narrowed = await token(deny, client);
    assert.equal(narrowed.status, 200, narrowed.text);
    const body = narrowed.body as { access_token: string; scope: string; expires_in: number };
    assert.equal(body.scope, 'a');
    assert.equal(body.expires_in, 60);
    const claims = decodeJwt(body.access_token);
    assert.equal(claims.scope, 'a');
    assert.equal(claims.aud, 'https://api.two.test');
    assert.equal(claims.exp! - claims.iat!, 60);

    hook.answer((_request, response) => json(response, 200, { expires_in: 999_999 }));
    const longer = await token(deny, client);
    assert.equal((longer.body as { expires_in: number }).expires_in, 3600, 'never lengthened');

    for (const wider of [{ scope: 'a z' }, { audience: ['https://elsewhere.test'] }]) {
      hook.answer((_request, response) => json(response, 200, wider));
      const refused = await token(deny, client);
      assert.equal(refused.status, 503, JSON.stringify(wider));
      assert.deepEqual(refused.body, {
        error: 'temporarily_unavailable',
        error_description: 'The token hook is unavailable; try again',
      });
    }
  });

  it('denies: 400 with its code and a sanitised description, 401 for invalid_client', async () => {
    hook.answer((_request, response) =>
      json(response, 200, {
        error: 'access_denied',
        error_description: 'Merchant "m-1" is\nsuspended',
      }),
    );
    const denied = await token(deny, client);
    assert.equal(denied.status, 400);
    assert.equal(denied.headers.get('cache-control'), 'no-store');
    assert.deepEqual(denied.body, {
      error: 'access_denied',
      error_description: 'Merchant ?m-1? is?suspended',
    });
    hook.answer((_request, response) =>
      json(response, 200, { error: 'invalid_client', error_description: 'Unknown merchant' }),
    );
    const unknown = await token(deny, client);
    assert.equal(unknown.status, 401);
    assert.deepEqual(unknown.body, {
      error: 'invalid_client',
      error_description: 'Unknown merchant',
    });
    // A denial is the hook's answer, not a failure: the allow policy does not issue.
    const allowDenied = await token(allow, allowClient);
    assert.equal(allowDenied.status, 401);
  });

  it('times out: deny answers 503 temporarily_unavailable, allow issues without the hook', async () => {
    hook.answer((_request, response) => {
      setTimeout(() => json(response, 200, { claims: { late: true } }), 3000);
    });
    const before = await metricValue(deny.url, 'timeout');
    const started = Date.now();
    const denied = await token(deny, client);
    // 1 s timeout, 3 s hook: generous bounds, since a loaded CI machine slows everything.
    assert.ok(Date.now() - started < 2900, 'answered at the timeout, not when the hook did');
    assert.equal(denied.status, 503);
    assert.equal(denied.headers.get('cache-control'), 'no-store');
    assert.deepEqual(denied.body, {
      error: 'temporarily_unavailable',
      error_description: 'The token hook is unavailable; try again',
    });
    assert.equal(await metricValue(deny.url, 'timeout'), before + 1);
    const requestId = denied.headers.get('x-request-id')!;
    const line = logs
      .map((text) => JSON.parse(text))
      .find((entry) => entry.msg === 'token hook failed');
    assert.equal(line.reqId, requestId);
    assert.equal(line.reason, 'timeout');
    assert.ok(
      logs.every((text) => !text.includes(secret)),
      'the secret is never logged',
    );

    const allowed = await token(allow, allowClient);
    assert.equal(allowed.status, 200);
    const claims = decodeJwt((allowed.body as { access_token: string }).access_token);
    assert.equal(claims.late, undefined);
    assert.equal(claims.scope, 'a b');
    assert.equal(await metricValue(allow.url, 'timeout'), 1);
  });

  it('treats garbage, non-200, oversize answers and a dead hook as failures, by reason', async () => {
    const cases: Array<[string, (request: HookRequest, response: ServerResponse) => void]> = [
      ['malformed', (_q, response) => response.end('this is not json')],
      ['malformed', (_q, response) => json(response, 200, ['an', 'array'])],
      ['malformed', (_q, response) => json(response, 200, { claims: 'not an object' })],
      ['malformed', (_q, response) => json(response, 200, { error: 'bad "code"' })],
      ['status', (_q, response) => json(response, 500, { claims: { x: 1 } })],
      [
        'status',
        (_q, response) => {
          response.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' });
          response.end();
        },
      ],
      [
        'too_large',
        (_q, response) => json(response, 200, { claims: { blob: 'x'.repeat(70_000) } }),
      ],
      [
        'connection',
        (q, response) => {
          void q;
          response.socket?.destroy();
        },
      ],
    ];
    for (const [reason, answer] of cases) {
      hook.answer(answer);
      const counted = await metricValue(deny.url, reason);
      const refused = await token(deny, client);
      assert.equal(refused.status, 503, reason);
      assert.equal((refused.body as { error: string }).error, 'temporarily_unavailable');
      assert.equal(await metricValue(deny.url, reason), counted + 1, reason);
      const allowed = await token(allow, allowClient);
      assert.equal(allowed.status, 200, `allow policy, ${reason}`);
    }
    const dead = await down.createClient();
    const refused = await token(down, dead);
    assert.equal(refused.status, 503);
    assert.equal(await metricValue(down.url, 'connection'), 1);
  });

  it('reuses an answer for cache_seconds: 1,000 token requests cost one hook call', async () => {
    hook.answer((_request, response) =>
      json(response, 200, { claims: { cached: 'yes' }, cache_seconds: 60 }),
    );
    const cachedClient = await deny.createClient({ scope: 'x' });
    const calls = deny.server.context.tokenHook!.calls;
    for (let batch = 0; batch < 10; batch += 1) {
      const results = await Promise.all(
        Array.from({ length: 100 }, () => token(deny, cachedClient)),
      );
      for (const result of results) {
        assert.equal(result.status, 200);
        assert.equal(
          decodeJwt((result.body as { access_token: string }).access_token).cached,
          'yes',
        );
      }
    }
    assert.equal(hook.received.length, 1);
    assert.equal(deny.server.context.tokenHook!.calls, calls + 1);
    // Another scope is another question.
    assert.equal((await token(deny, cachedClient, { scope: 'x' })).status, 200);
    assert.equal(hook.received.length, 1, 'same scope, same answer');
  });

  it('runs on both hosts: the node:http fast path and the Fastify route', async () => {
    hook.answer((_request, response) => json(response, 200, { claims: { host: 'both' } }));
    const taken = deny.server.app.tokenListener.taken;
    const fast = await token(deny, client);
    assert.equal(deny.server.app.tokenListener.taken, taken + 1);
    // A query string sends the request to Fastify.
    const routed = await token(deny, client, {}, {}, '/oauth/token?via=fastify');
    assert.equal(deny.server.app.tokenListener.taken, taken + 1);
    for (const result of [fast, routed]) {
      assert.equal(result.status, 200, result.text);
      assert.equal(decodeJwt((result.body as { access_token: string }).access_token).host, 'both');
    }
    assert.equal(hook.received.length, 2);
  });
});
