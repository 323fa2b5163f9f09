import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { createTokenClient, presets, type TokenClient } from '../src/index.js';
import { manualClock } from './fixtures/clock.js';
import { startTokenServer, type TokenServer } from './fixtures/token-server.js';

const secret = 'Sup3r$ecret/with+chars=';
const spellings = [
  secret,
  encodeURIComponent(secret),
  Buffer.from(`cid:${secret}`).toString('base64'),
  Buffer.from(`cid:${encodeURIComponent(secret)}`).toString('base64'),
];

function assertClean(label: string, value: unknown): void {
  const texts = [
    inspect(value, { depth: Infinity, showHidden: true }),
    safeJson(value),
    String(value),
  ];
  for (const text of texts)
    for (const s of spellings) assert.ok(!text.includes(s), `${label} leaks the secret: ${text}`);
}

function safeJson(value: unknown): string {
  try {
    return (
      JSON.stringify(value, (_k, v: unknown) =>
        v instanceof Error ? { ...v, message: v.message, cause: v.cause } : v,
      ) ?? ''
    );
  } catch {
    return '';
  }
}

function record(client: TokenClient): unknown[] {
  const seen: unknown[] = [];
  for (const name of [
    'request',
    'cache-hit',
    'refresh',
    'token',
    'retry',
    'error',
    'negative-cache-hit',
    'replay',
    'store-error',
    'revoke',
  ] as const) {
    client.on(name, (e) => seen.push(e));
  }
  return seen;
}

describe('the secret never leaks', () => {
  let server: TokenServer;
  before(async () => {
    server = await startTokenServer();
  });
  after(() => server.close());

  for (const authMethod of ['client_secret_basic', 'client_secret_post'] as const) {
    test(`errors, events and the client object (${authMethod}), even when the server echoes the secret`, async () => {
      const clock = manualClock();
      const client = createTokenClient({
        tokenEndpoint: server.tokenEndpoint,
        revocationEndpoint: `${server.url}/nowhere`,
        clientId: 'cid',
        clientSecret: secret,
        authMethod,
        now: clock.now,
        random: () => 0.5,
        sleep: clock.sleep,
        negativeCache: false,
      });
      const events = record(client);
      const errors: unknown[] = [];
      const echo = {
        error: 'invalid_client',
        error_description: `bad secret ${secret} / ${encodeURIComponent(secret)}`,
        got: secret,
      };
      server.push(
        { status: 503, body: { error: 'server_error', echo: secret } },
        { status: 401, body: echo },
      );
      await client.getToken().catch((e: unknown) => errors.push(e));
      server.push({ body: { token_type: 'Bearer', oops: secret } });
      await client.getToken().catch((e: unknown) => errors.push(e));
      server.push({ destroy: true }, { destroy: true }, { destroy: true });
      await client.getToken().catch((e: unknown) => errors.push(e));
      await client.getToken();
      await client.revoke().catch((e: unknown) => errors.push(e));
      assert.equal(errors.length, 4);
      assert.ok(events.length > 5);
      errors.forEach((e, i) => assertClean(`error ${i}`, e));
      events.forEach((e, i) => assertClean(`event ${i}`, e));
      assertClean('client', client);
      assert.equal(
        JSON.stringify(client).includes('cid'),
        true,
        'the client still describes itself',
      );
      await client.close({ revoke: false });
    });
  }

  test('preset options are plain data, the client built from them is clean', () => {
    const client = createTokenClient(
      presets.tesouro({ environment: 'sandbox', clientId: 'cid', clientSecret: secret }),
    );
    assertClean('tesouro client', client);
    void client.close({ revoke: false });
  });
});
