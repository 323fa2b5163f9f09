import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, afterEach, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { createTokenClient, presets, type TokenClientOptions } from '../../client/src/index.js';
import { createVerifier, tesouroErrorShape, type ErrorShape } from '../../verifier/src/index.js';
import { startTessera, type TestTessera } from './support/tessera.js';

/**
 * The client package's preset for each provider, against Tessera serving that preset and a
 * small resource server built with the verifier (Tesouro's expired-token shape for Tesouro).
 * One injected clock drives Tessera and the resource server; the client has its own, so a
 * token can be expired at the API while the client still holds it as fresh.
 */
interface Case {
  preset: string;
  scope?: string;
  errorShape?: ErrorShape;
  expiredStatus: number;
  options: (base: {
    baseUrl: string;
    clientId: string;
    clientSecret: string;
  }) => TokenClientOptions;
}

const cases: Case[] = [
  {
    preset: 'tesouro',
    errorShape: tesouroErrorShape,
    expiredStatus: 400,
    options: (base) => presets.tesouro({ ...base, environment: 'sandbox' }),
  },
  {
    preset: 'conta-simples',
    expiredStatus: 401,
    options: (base) => presets.contaSimples(base),
  },
  {
    preset: 'treezor',
    scope: 'admin read_all',
    expiredStatus: 401,
    options: (base) => presets.treezor({ ...base, scope: 'admin read_all' }),
  },
  {
    preset: 'astrapay',
    scope: 'payments',
    expiredStatus: 401,
    options: (base) => presets.astrapay({ ...base, scope: 'payments' }),
  },
];

async function startApi(
  tessera: TestTessera,
  nowMs: () => number,
  errorShape: ErrorShape | undefined,
): Promise<{ url: string; answers: number[]; close: () => Promise<void> }> {
  const verifier = createVerifier({
    issuer: tessera.issuer,
    audience: tessera.issuer,
    now: nowMs,
    ...(errorShape ? { errorShape } : {}),
  });
  const answers: number[] = [];
  const server: Server = createServer((request, response) => {
    verifier.verifyAuthorization(request.headers.authorization).then(
      ({ claims }) => {
        answers.push(200);
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ jti: claims.jti }));
      },
      (error: unknown) => {
        const rejection = verifier.errorResponse(error);
        answers.push(rejection.status);
        response.writeHead(rejection.status, rejection.headers);
        response.end(JSON.stringify(rejection.body));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/v1/resource`,
    answers,
    close: async () => {
      verifier.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

for (const { preset, scope, errorShape, expiredStatus, options } of cases) {
  describe(`client preset ${preset} against tessera serve --preset ${preset}`, () => {
    const start = Math.floor(Date.now() / 1000);
    let serverNow = start;
    let clientNow = start;
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });
    after(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    });

    const setUp = async () => {
      serverNow = start;
      clientNow = start;
      const tessera = await startTessera({ preset, nowSeconds: () => serverNow });
      cleanups.push(() => tessera.close());
      const registered = await tessera.createClient(scope ? { scope } : {});
      const api = await startApi(tessera, () => serverNow * 1000, errorShape);
      cleanups.push(api.close);
      const client = createTokenClient({
        ...options({ baseUrl: tessera.url, ...registered }),
        now: () => clientNow * 1000,
      });
      cleanups.push(() => client.close({ revoke: false }));
      const issued: string[] = [];
      client.on('token', (event) => issued.push(event.source));
      return { tessera, api, client, issued };
    };

    it('gets a token and calls the API with it; renews it before it expires', async () => {
      const { api, client, issued } = await setUp();
      const first = await client.getToken();
      assert.equal(decodeJwt(first).exp, start + 3600);
      const response = await client.fetch(api.url);
      assert.equal(response.status, 200);
      assert.deepEqual(issued, ['endpoint']);
      assert.equal(await client.getToken(), first);

      // 10 s before expiry, inside the refresh window: a new token from Tessera.
      serverNow = clientNow = start + 3590;
      const second = await client.getToken();
      assert.notEqual(second, first);
      assert.equal(decodeJwt(second).exp, start + 3590 + 3600);
      assert.equal((await client.fetch(api.url)).status, 200);
      assert.deepEqual(issued, ['endpoint', 'endpoint']);
    });

    it(`recovers from the provider's expired-token answer (${expiredStatus})`, async () => {
      const { api, client, issued } = await setUp();
      const first = await client.getToken();
      // The API's clock is past the token's exp; the client's is not: it still holds it as fresh.
      serverNow = start + 3600 + 120;
      const replays: number[] = [];
      client.on('replay', (event) => replays.push(event.status));
      const response = await client.fetch(api.url);
      assert.equal(response.status, 200);
      assert.deepEqual(api.answers, [expiredStatus, 200]);
      assert.deepEqual(replays, [expiredStatus]);
      assert.deepEqual(issued, ['endpoint', 'endpoint']);
      assert.notEqual(await client.getToken(), first);
    });
  });
}

describe('client preset tesouro revokes through /v1/auth/revoke', () => {
  it('revoke() answers ok and Tessera holds the token as revoked', async () => {
    const tessera = await startTessera({ preset: 'tesouro' });
    try {
      const registered = await tessera.createClient();
      const client = createTokenClient(
        presets.tesouro({ ...registered, environment: 'sandbox', baseUrl: tessera.url }),
      );
      const token = await client.getToken();
      const revoked: boolean[] = [];
      client.on('revoke', (event) => revoked.push(event.ok));
      await client.revoke(token);
      assert.deepEqual(revoked, [true]);
      const inspection = await tessera.server.context.inspector.inspect(token);
      assert.deepEqual(
        [inspection.active, 'reason' in inspection && inspection.reason],
        [false, 'revoked'],
      );
      assert.ok(tessera.server.context.revocations.has(decodeJwt(token).jti!));
      await client.close({ revoke: false });
    } finally {
      await tessera.close();
    }
  });
});
