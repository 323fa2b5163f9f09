import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  createTokenClient,
  presets,
  ResourceRejectedTokenError,
  type TokenClientOptions,
} from '../src/index.js';
import { clockedOptions, manualClock } from './fixtures/clock.js';
import { invalidTokenAnswer, startResourceServer } from './fixtures/resource-server.js';
import { startTokenServer, type TokenServer } from './fixtures/token-server.js';

describe('authorized fetch', () => {
  let server: TokenServer;
  before(async () => {
    server = await startTokenServer();
  });
  after(() => server.close());

  const options = (extra: Partial<TokenClientOptions> = {}) =>
    clockedOptions(server.tokenEndpoint, extra);

  test('adds Authorization: Bearer and keeps the caller headers', async () => {
    const resource = await startResourceServer(() => ({ status: 200, body: { ok: true } }));
    const client = createTokenClient(options());
    const res = await client.fetch(`${resource.url}/x`, { headers: { 'x-trace': '1' } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { ok: true });
    assert.match(resource.seen[0]?.token ?? '', /^tok-/);
    await client.close({ revoke: false });
    await resource.close();
  });

  test('50 concurrent requests rejected with token A cause one token POST and 50 replays with token B', async () => {
    const client = createTokenClient(options());
    const start = server.count;
    const a = await client.getToken();
    const resource = await startResourceServer((token) =>
      token === a ? invalidTokenAnswer : { status: 200, body: { token } },
    );
    const replays: number[] = [];
    client.on('replay', (e) => replays.push(e.status));
    server.push({ delayMs: 20 });
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        client.fetch(`${resource.url}/pay`, { method: 'POST', body: JSON.stringify({ i }) }),
      ),
    );
    assert.equal(server.count - start, 2, 'one POST for A, one for B');
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { token: string }[];
    const b = bodies[0]?.token;
    assert.notEqual(b, a);
    assert.ok(bodies.every((x) => x.token === b));
    assert.equal(resource.seen.filter((s) => s.token === a).length, 50);
    assert.equal(resource.seen.filter((s) => s.token === b).length, 50);
    // Each replay carried its own body.
    const replayedBodies = resource.seen
      .filter((s) => s.token === b)
      .map((s) => (JSON.parse(s.body) as { i: number }).i);
    assert.deepEqual(
      replayedBodies.sort((x, y) => x - y),
      Array.from({ length: 50 }, (_, i) => i),
    );
    assert.equal(replays.length, 50);
    await client.close({ revoke: false });
    await resource.close();
  });

  test('an always-401 resource gets at most 2 attempts per call and a typed error, never a loop', async () => {
    const client = createTokenClient(options());
    const resource = await startResourceServer(() => invalidTokenAnswer);
    for (let call = 1; call <= 3; call++) {
      const before = resource.seen.length;
      await assert.rejects(client.fetch(resource.url), (e: unknown) => {
        assert.ok(e instanceof ResourceRejectedTokenError);
        assert.equal(e.code, 'resource_rejected_token');
        assert.equal(e.status, 401);
        return true;
      });
      assert.equal(resource.seen.length - before, 2);
    }
    await client.close({ revoke: false });
    await resource.close();
  });

  test('a 401 without an invalid_token challenge is returned, not replayed (RFC 6750 default)', async () => {
    const client = createTokenClient(options());
    const resource = await startResourceServer(() => ({ status: 401, body: { error: 'nope' } }));
    const res = await client.fetch(resource.url);
    assert.equal(res.status, 401);
    assert.equal(resource.seen.length, 1);
    await client.close({ revoke: false });
    await resource.close();
  });

  test('a streamed body is not replayed: the rejected response is returned and the token dropped', async () => {
    const client = createTokenClient(options());
    const start = server.count;
    const a = await client.getToken();
    const resource = await startResourceServer((token) =>
      token === a ? invalidTokenAnswer : { status: 200 },
    );
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('chunk'));
        controller.close();
      },
    });
    const res = await client.fetch(resource.url, {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 401);
    assert.equal(resource.seen.length, 1);
    assert.notEqual(await client.getToken(), a, 'the rejected token was dropped');
    assert.equal(server.count - start, 2);
    await client.close({ revoke: false });
    await resource.close();
  });

  test('a Request object without a body is replayed with its method and headers', async () => {
    const client = createTokenClient(options());
    const a = await client.getToken();
    const resource = await startResourceServer((token, req) =>
      token === a
        ? invalidTokenAnswer
        : { status: 200, body: { method: req.method, trace: req.headers['x-trace'] } },
    );
    const res = await client.fetch(
      new Request(resource.url, { method: 'DELETE', headers: { 'x-trace': 't1' } }),
    );
    assert.deepEqual(await res.json(), { method: 'DELETE', trace: 't1' });
    await client.close({ revoke: false });
    await resource.close();
  });

  test("Tesouro's HTTP 400 {error:{message:'The token has been expired.'}} triggers renewal and replay", async () => {
    const client = createTokenClient({
      ...presets.tesouro({
        environment: 'sandbox',
        baseUrl: server.url,
        clientId: 'tesouro-id',
        clientSecret: 'tesouro-secret',
      }),
      now: manualClock().now,
      random: () => 0.5,
    });
    const a = await client.getToken();
    const resource = await startResourceServer((token) =>
      token === a
        ? { status: 400, body: { error: { message: 'The token has been expired.' } } }
        : { status: 200, body: { ok: 1 } },
    );
    const res = await client.fetch(resource.url);
    assert.equal(res.status, 200);
    assert.equal(resource.seen.length, 2);
    // Another 400 (a validation error) is not mistaken for an expired token.
    const other = await startResourceServer(() => ({
      status: 400,
      body: { error: { message: 'amount is required' } },
    }));
    const res2 = await client.fetch(other.url);
    assert.equal(res2.status, 400);
    assert.deepEqual(
      await res2.json(),
      { error: { message: 'amount is required' } },
      'body still readable',
    );
    assert.equal(other.seen.length, 1);
    await client.close({ revoke: false });
    await resource.close();
    await other.close();
  });
});
