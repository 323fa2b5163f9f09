/**
 * Issue 16: outbound fetches are bounded. A client's `jwks_uri` goes through the one bounded
 * fetch helper (size, key count, time, redirects, caching of successes and failures, one
 * request in flight per URL), so a hostile URL cannot exhaust memory or be hammered.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { BoundedFetcher, BoundedFetchError, maxAgeOf } from '../src/lib/bounded-fetch.js';
import { spawnServe } from './support/serve-process.js';
import { postForm, startTessera } from './support/tessera.js';

const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const now = () => Math.floor(Date.now() / 1000);
const mib = 1024 * 1024;

/** A loopback server; `hits` counts requests per path. */
async function serve(handler: (request: IncomingMessage, response: ServerResponse) => void) {
  const hits = new Map<string, number>();
  const server: Server = createServer((request, response) => {
    hits.set(request.url!, (hits.get(request.url!) ?? 0) + 1);
    handler(request, response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url,
    hits,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Writes `total` bytes of JSON-ish filler, respecting backpressure, until the peer leaves. */
function flood(response: ServerResponse, total: number, declareLength: boolean) {
  response.setHeader('content-type', 'application/json');
  if (declareLength) response.setHeader('content-length', String(total));
  const chunk = Buffer.alloc(mib, 0x20);
  let sent = 0;
  const more = () => {
    while (sent < total && !response.destroyed) {
      sent += chunk.length;
      if (!response.write(chunk)) return void response.once('drain', more);
    }
    response.end();
  };
  response.write('{"keys":[');
  more();
}

describe('bounded outbound fetches', () => {
  describe('a private_key_jwt client whose jwks_uri is hostile (a real `tessera serve`)', () => {
    const issuer = 'http://tessera.test';
    let dataDir: string;
    let server: Awaited<ReturnType<typeof spawnServe>>;
    let hostile: Awaited<ReturnType<typeof serve>>;
    let key: Awaited<ReturnType<typeof generateKeyPair>>;
    const clients = new Map<string, string>();
    before(async () => {
      hostile = await serve((request, response) =>
        flood(response, 100 * mib, request.url === '/declared'),
      );
      key = await generateKeyPair('ES256', { extractable: true });
      const jwk = { ...(await exportJWK(key.publicKey)), alg: 'ES256', kid: 'k1' };
      dataDir = await mkdtemp(join(tmpdir(), 'tessera-hostile-'));
      const setup = await startTessera({ dataDir });
      const register = async (name: string, auth: { jwks?: unknown; jwksUri?: string }) => {
        const { client } = await setup.registry.create({
          name,
          authMethod: 'private_key_jwt',
          ...(auth as object),
        });
        clients.set(name, client.clientId);
      };
      await register('warm-up', { jwks: { keys: [jwk] } });
      for (const path of ['/chunked', '/declared'])
        await register(path, { jwksUri: `${hostile.url}${path}` });
      await setup.close();
      server = await spawnServe(['--issuer', issuer], { TESSERA_DATA_DIR: dataDir });
    });
    after(async () => {
      server.child.kill('SIGKILL');
      await hostile.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    const tokenRequest = async (clientId: string) =>
      postForm(`http://127.0.0.1:${server.port}/oauth/token`, {
        grant_type: 'client_credentials',
        client_assertion_type: assertionType,
        client_assertion: await new SignJWT({ jti: randomUUID() })
          .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
          .setIssuer(clientId)
          .setSubject(clientId)
          .setAudience(issuer)
          .setIssuedAt()
          .setExpirationTime(now() + 60)
          .sign(key.privateKey),
      });
    const rssMiB = async () => {
      const status = await readFile(`/proc/${server.child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
    };

    it('warms up with a good client', async () => {
      for (let i = 0; i < 20; i++)
        assert.equal((await tokenRequest(clients.get('warm-up')!)).status, 200);
    });

    for (const path of ['/chunked', '/declared']) {
      it(`refuses 100 MiB served ${path.slice(1)}, RSS growth under 20 MiB, failure cached`, async (t) => {
        const before = await rssMiB();
        for (let i = 0; i < 5; i++) {
          const answer = await tokenRequest(clients.get(path)!);
          assert.equal(answer.status, 401, answer.text);
          assert.deepEqual(answer.body, {
            error: 'invalid_client',
            error_description: 'Client authentication failed',
          });
        }
        const growth = (await rssMiB()) - before;
        t.diagnostic(`RSS growth ${growth.toFixed(1)} MiB`);
        assert.ok(growth < 20, `RSS grew by ${growth.toFixed(1)} MiB`);
        assert.equal(hostile.hits.get(path), 1, 'five token requests, one fetch');
      });
    }
  });

  describe('the helper, over real HTTP', () => {
    let origin: Awaited<ReturnType<typeof serve>>;
    let clock = 1_000_000;
    before(async () => {
      origin = await serve((request, response) => {
        const path = request.url!;
        if (path.startsWith('/ok')) {
          response.setHeader('cache-control', path.split('?')[1] ?? '');
          response.end(JSON.stringify({ keys: [] }));
        } else if (path === '/redirect') {
          response.writeHead(302, { location: '/ok' }).end();
        } else if (path === '/slow') {
          setTimeout(() => response.end('{}'), 2_000).unref();
        } else if (path === '/many') {
          response.end(JSON.stringify({ keys: Array.from({ length: 50 }, () => ({})) }));
        } else if (path === '/error') {
          response.writeHead(500).end();
        } else response.writeHead(404).end();
      });
    });
    after(() => origin.close());

    const fetcher = (limits = {}) =>
      new BoundedFetcher(
        (json) => {
          const keys = (json as { keys: unknown[] }).keys;
          if (keys.length > 32) throw new Error(`${keys.length} keys, more than 32`);
          return keys.length;
        },
        limits,
        () => clock,
      );
    const reason = async (promise: Promise<unknown>) => {
      try {
        await promise;
      } catch (error) {
        assert.ok(error instanceof BoundedFetchError, String(error));
        return error.reason;
      }
      return 'ok';
    };

    it('does not follow redirects, times out, and refuses too many keys', async () => {
      const f = fetcher({ timeoutMs: 200 });
      assert.equal(await reason(f.get(`${origin.url}/redirect`)), 'redirect');
      assert.equal(await reason(f.get(`${origin.url}/slow`)), 'timeout');
      assert.equal(await reason(f.get(`${origin.url}/many`)), 'invalid');
      assert.equal(await reason(f.get(`${origin.url}/error`)), 'status');
      assert.equal(origin.hits.get('/ok'), undefined, 'the redirect target was never asked');
    });

    it('caches successes for Cache-Control max-age within bounds', async () => {
      const f = fetcher({ minCacheSeconds: 60, maxCacheSeconds: 3600 });
      const url = (cc: string) => `${origin.url}/ok?${cc}`;
      const count = (cc: string) => origin.hits.get(`/ok?${cc}`) ?? 0;
      for (const cc of ['max-age=5', 'max-age=600', 'max-age=999999', 'no-store']) {
        await f.get(url(cc));
        await f.get(url(cc));
        assert.equal(count(cc), 1, cc);
      }
      clock += 61_000; // past the minimum: 5 s and no-store were raised to 60 s
      for (const cc of ['max-age=5', 'max-age=600', 'max-age=999999', 'no-store'])
        await f.get(url(cc));
      assert.deepEqual(
        ['max-age=5', 'max-age=600', 'max-age=999999', 'no-store'].map(count),
        [2, 1, 1, 2],
      );
      clock += 3600_000; // past the maximum: a day was capped to an hour
      await f.get(url('max-age=999999'));
      assert.equal(count('max-age=999999'), 2);
    });

    it('caches failures with exponential backoff', async () => {
      const f = fetcher({ failureBackoffSeconds: 10, maxFailureBackoffSeconds: 25 });
      const url = `${origin.url}/error`;
      const hits = () => origin.hits.get('/error') ?? 0;
      const start = hits();
      await reason(f.get(url));
      await reason(f.get(url));
      assert.equal(hits() - start, 1);
      clock += 10_001;
      await reason(f.get(url));
      assert.equal(hits() - start, 2);
      clock += 10_001; // the second failure waits 20 s
      await reason(f.get(url));
      assert.equal(hits() - start, 2);
      clock += 10_000;
      await reason(f.get(url));
      assert.equal(hits() - start, 3);
    });

    it('keeps one request in flight per URL', async () => {
      const f = fetcher({ timeoutMs: 5_000 });
      const before = origin.hits.get('/slow') ?? 0;
      const all = await Promise.all(
        Array.from({ length: 20 }, () => reason(f.get(`${origin.url}/slow`))),
      );
      assert.deepEqual(new Set(all), new Set(['invalid']), 'the slow answer {} has no keys');
      assert.equal((origin.hits.get('/slow') ?? 0) - before, 1);
    });

    it('reads max-age and no-store', () => {
      assert.equal(maxAgeOf('public, max-age=300'), 300);
      assert.equal(maxAgeOf('no-store'), 0);
      assert.equal(maxAgeOf('private'), undefined);
      assert.equal(maxAgeOf(null), undefined);
    });
  });

  it('a key rotated at the jwks_uri is picked up (unknown kid refetches, at most once a minute)', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), alg: 'ES256', kid: 'new' };
    let published: unknown[] = [];
    const keys = await serve((_request, response) => {
      response.setHeader('cache-control', 'max-age=3600');
      response.end(JSON.stringify({ keys: published }));
    });
    let clock = now();
    const tessera = await startTessera({ nowSeconds: () => clock });
    try {
      const { client } = await tessera.registry.create({
        name: 'rotating',
        authMethod: 'private_key_jwt',
        jwksUri: `${keys.url}/jwks.json`,
      });
      const request = async () =>
        postForm(`${tessera.url}/oauth/token`, {
          grant_type: 'client_credentials',
          client_assertion_type: assertionType,
          client_assertion: await new SignJWT({ jti: randomUUID() })
            .setProtectedHeader({ alg: 'ES256', kid: 'new' })
            .setIssuer(client.clientId)
            .setSubject(client.clientId)
            .setAudience(tessera.issuer)
            .setIssuedAt(clock)
            .setExpirationTime(clock + 60)
            .sign(pair.privateKey),
        });
      assert.equal((await request()).status, 401, 'not yet published');
      published = [jwk];
      assert.equal((await request()).status, 401, 'refetched at most once a minute');
      clock += 61;
      assert.equal((await request()).status, 200);
    } finally {
      await tessera.close();
      await keys.close();
    }
  });
});
