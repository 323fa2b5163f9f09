import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import {
  createVerifier,
  senderEvidenceOf,
  tesouroErrorShape,
  tesseraFastify,
  tesseraHook,
  tesseraMiddleware,
} from '../src/index.js';
import type { VerifiedToken, Verifier } from '../src/index.js';
import { audience, clock, invalidToken, startFixture, t0 } from './fixture.js';
import type { Fixture } from './fixture.js';

declare module 'fastify' {
  interface FastifyRequest {
    tessera: VerifiedToken | null;
  }
}

let fx: Fixture;
let verifier: Verifier;
before(async () => {
  fx = await startFixture();
  verifier = createVerifier({
    issuer: fx.issuer,
    audience,
    now: clock().now,
    requiredScopes: ['orders:read'],
  });
});
after(() => fx.close());

const missing = { 'cache-control': 'no-store', 'www-authenticate': `Bearer realm="${audience}"` };

function pick(headers: Record<string, unknown>, names: string[]): Record<string, unknown> {
  return Object.fromEntries(
    names.filter((n) => headers[n] !== undefined).map((n) => [n, headers[n]]),
  );
}

describe('fastify adapter', () => {
  async function app() {
    const fastify = Fastify();
    fastify.get('/health', async () => ({ ok: true }));
    fastify.register(async (api) => {
      await api.register(tesseraFastify(verifier));
      api.get('/orders', async (request) => ({
        client: request.tessera?.claims.client_id,
        scopes: request.tessera?.scopes,
      }));
      api.post(
        '/orders',
        { onRequest: tesseraHook(verifier, { requiredScopes: ['orders:admin'] }) },
        async () => ({ created: true }),
      );
    });
    await fastify.ready();
    return fastify;
  }

  test('puts the verified token on request.tessera', async () => {
    const fastify = await app();
    const response = await fastify.inject({
      url: '/orders',
      headers: { authorization: `Bearer ${await fx.sign()}` },
    });
    assert.equal(response.statusCode, 200);
    assert.deepStrictEqual(response.json(), {
      client: 'client-42',
      scopes: ['orders:read', 'orders:write'],
    });
    await fastify.close();
  });

  test('leaves routes outside the protected context alone', async () => {
    const fastify = await app();
    assert.equal((await fastify.inject({ url: '/health' })).statusCode, 200);
    await fastify.close();
  });

  test('no token: 401 with a bare Bearer challenge and no body', async () => {
    const fastify = await app();
    const response = await fastify.inject({ url: '/orders' });
    assert.equal(response.statusCode, 401);
    assert.deepStrictEqual(
      pick(response.headers, ['cache-control', 'www-authenticate', 'content-type']),
      missing,
    );
    assert.equal(response.body, '');
    await fastify.close();
  });

  test('expired token over a real socket: the exact RFC 6750 response', async () => {
    const fastify = await app();
    const address = await fastify.listen({ port: 0, host: '127.0.0.1' });
    try {
      const token = await fx.sign({ claims: { iat: t0 - 400, exp: t0 - 100 } });
      const response = await fetch(`${address}/orders`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const expected = invalidToken('The access token expired');
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), expected.headers['www-authenticate']);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8'); // Fastify adds the charset
      assert.deepStrictEqual(await response.json(), expected.body);
    } finally {
      await fastify.close();
    }
  });

  test('route-level hook: missing scope is 403 insufficient_scope', async () => {
    const fastify = await app();
    const response = await fastify.inject({
      method: 'POST',
      url: '/orders',
      headers: { authorization: `Bearer ${await fx.sign()}` },
    });
    assert.equal(response.statusCode, 403);
    assert.equal(
      response.headers['www-authenticate'],
      `Bearer realm="${audience}", error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token", scope="orders:read orders:admin"`,
    );
    assert.deepStrictEqual(response.json(), {
      error: 'insufficient_scope',
      error_description: 'The request requires higher privileges than provided by the access token',
    });
    await fastify.close();
  });

  test('malformed Authorization header: 400 invalid_request', async () => {
    const fastify = await app();
    const response = await fastify.inject({
      url: '/orders',
      headers: { authorization: 'Basic Zm9vOmJhcg==' },
    });
    assert.equal(response.statusCode, 400);
    assert.equal(
      response.headers['www-authenticate'],
      `Bearer realm="${audience}", error="invalid_request", error_description="The Authorization header is malformed"`,
    );
    assert.deepStrictEqual(response.json(), {
      error: 'invalid_request',
      error_description: 'The Authorization header is malformed',
    });
    await fastify.close();
  });
});

describe('connect/express middleware over node:http', () => {
  async function serve(v: Verifier, options: Parameters<typeof tesseraMiddleware>[1] = {}) {
    const middleware = tesseraMiddleware(v, options);
    const server = createServer((req, res) => {
      middleware(req, res, (error?: unknown) => {
        res.setHeader('content-type', 'application/json');
        if (error !== undefined) {
          res.statusCode = 418;
          res.end(JSON.stringify({ forwarded: (error as { reason?: string }).reason }));
          return;
        }
        res.end(
          JSON.stringify({ client: (req as { auth?: VerifiedToken }).auth?.claims.client_id }),
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
    return { url, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  test('valid token: next() with req.auth', async () => {
    const { url, close } = await serve(verifier);
    try {
      const response = await fetch(url, {
        headers: { authorization: `Bearer ${await fx.sign()}` },
      });
      assert.equal(response.status, 200);
      assert.deepStrictEqual(await response.json(), { client: 'client-42' });
    } finally {
      await close();
    }
  });

  test('no token: 401, bare challenge, empty body', async () => {
    const { url, close } = await serve(verifier);
    try {
      const response = await fetch(url);
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), missing['www-authenticate']);
      assert.equal(response.headers.get('cache-control'), 'no-store');
      assert.equal(await response.text(), '');
    } finally {
      await close();
    }
  });

  test('bad signature: exact invalid_token response', async () => {
    const { url, close } = await serve(verifier);
    try {
      const [h, p] = (await fx.sign()).split('.');
      const [, , s] = (await fx.sign()).split('.');
      const response = await fetch(url, { headers: { authorization: `Bearer ${h}.${p}.${s}` } });
      const expected = invalidToken('The access token signature is invalid');
      assert.equal(response.status, 401);
      assert.equal(response.headers.get('www-authenticate'), expected.headers['www-authenticate']);
      assert.equal(response.headers.get('content-type'), 'application/json');
      assert.deepStrictEqual(await response.json(), expected.body);
    } finally {
      await close();
    }
  });

  test('forwardErrors hands the VerifierError to next()', async () => {
    const { url, close } = await serve(verifier, { forwardErrors: true });
    try {
      const response = await fetch(url, { headers: { authorization: 'Bearer a b' } });
      assert.equal(response.status, 418);
      assert.deepStrictEqual(await response.json(), { forwarded: 'multiple_tokens' });
    } finally {
      await close();
    }
  });

  test('the Tesouro preset answers an expired token with 400 {"error":{"message":…}}', async () => {
    const tesouro = createVerifier({
      issuer: fx.issuer,
      audience,
      now: clock().now,
      errorShape: tesouroErrorShape,
    });
    const { url, close } = await serve(tesouro);
    try {
      const token = await fx.sign({ claims: { iat: t0 - 400, exp: t0 - 100 } });
      const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(response.status, 400);
      assert.equal(response.headers.get('www-authenticate'), null);
      assert.deepStrictEqual(await response.json(), {
        error: { message: 'The token has been expired.' },
      });
      // Other rejections keep RFC 6750.
      const other = await fetch(url, { headers: { authorization: 'Bearer x.y.z' } });
      assert.equal(other.status, 401);
      assert.deepStrictEqual(
        await other.json(),
        invalidToken('The access token is malformed').body,
      );
    } finally {
      await close();
    }
  });
});

describe('sender evidence the adapters pass on', () => {
  test('DPoP htu from the Host header, or from publicOrigin when the API sits behind a proxy', () => {
    const request = {
      method: 'GET',
      url: '/orders?page=2',
      headers: { host: 'internal:8080', dpop: 'proof' },
      socket: {},
    };
    assert.deepStrictEqual(senderEvidenceOf(request, {}), {
      dpop: { method: 'GET', url: 'http://internal:8080/orders?page=2', proof: 'proof' },
    });
    assert.deepStrictEqual(senderEvidenceOf(request, { publicOrigin: 'https://api.example/' }), {
      dpop: { method: 'GET', url: 'https://api.example/orders?page=2', proof: 'proof' },
    });
  });

  test('the TLS client certificate of the connection, as DER bytes', () => {
    const raw = Buffer.from([0x30, 0x82, 0x01]);
    const evidence = senderEvidenceOf(
      {
        method: 'GET',
        url: '/',
        headers: { host: 'api' },
        socket: { encrypted: true, getPeerX509Certificate: () => ({ raw }) },
      },
      {},
    );
    assert.deepStrictEqual(evidence.clientCertificate, new Uint8Array(raw));
    assert.equal(evidence.dpop?.url, 'https://api/');
  });
});
