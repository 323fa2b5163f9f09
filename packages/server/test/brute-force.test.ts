import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sanitizeErrorDescription } from '@tessera/protocol';
import { basicAuthorization, postForm, startTessera } from './support/tessera.js';

describe('brute-force protection', () => {
  it('locks client X after repeated failures, leaves client Y alone, and lets X recover', async () => {
    let now = Math.floor(Date.now() / 1000);
    const lines: string[] = [];
    const tessera = await startTessera({
      nowSeconds: () => now,
      logLevel: 'warn',
      logStream: { write: (line) => lines.push(line) },
      authFailureLimits: { perClient: 5, perAddress: 1000, windowSeconds: 60, lockSeconds: 30 },
    });
    try {
      const x = await tessera.createClient();
      const y = await tessera.createClient();
      const token = (client: { clientId: string }, secret: string) =>
        postForm(
          `${tessera.url}/oauth/token`,
          { grant_type: 'client_credentials' },
          { authorization: basicAuthorization(client.clientId, secret) },
        );

      for (let i = 0; i < 5; i++) assert.equal((await token(x, 'guess')).status, 401);
      const locked = await token(x, x.clientSecret);
      assert.equal(locked.status, 429, 'even the right secret waits out the lock');
      assert.equal(locked.headers.get('retry-after'), '30');
      assert.equal(locked.headers.get('cache-control'), 'no-store');
      assert.deepEqual(locked.body, {
        error: 'temporarily_unavailable',
        error_description: 'Too many failed authentication attempts; retry after 30 seconds',
      });
      assert.equal((await token(y, y.clientSecret)).status, 200, 'another client is unaffected');
      assert.ok(
        lines.some(
          (line) =>
            line.includes('"client authentication locked out after repeated failures"') &&
            line.includes(x.clientId),
        ),
      );
      assert.ok(!lines.join('').includes(x.clientSecret));

      now += 29;
      assert.equal((await token(x, x.clientSecret)).status, 429);
      now += 1;
      assert.equal((await token(x, x.clientSecret)).status, 200, 'the lock expires by itself');
    } finally {
      await tessera.close();
    }
  });

  it('locks a source address that fails across many client ids', async () => {
    const tessera = await startTessera({
      authFailureLimits: { perClient: 100, perAddress: 8, windowSeconds: 60, lockSeconds: 60 },
    });
    try {
      for (let i = 0; i < 8; i++) {
        const result = await postForm(`${tessera.url}/oauth/token`, {
          grant_type: 'client_credentials',
          client_id: `made-up-${i}`,
          client_secret: 'x',
        });
        assert.equal(result.status, 401);
      }
      const result = await postForm(`${tessera.url}/oauth/token`, {
        grant_type: 'client_credentials',
        client_id: 'another',
        client_secret: 'x',
      });
      assert.equal(result.status, 429);
    } finally {
      await tessera.close();
    }
  });

  it('gives unknown clients and wrong secrets byte-identical answers', async () => {
    const tessera = await startTessera();
    try {
      const known = await tessera.createClient();
      const wrong = await postForm(`${tessera.url}/oauth/token`, {
        grant_type: 'client_credentials',
        client_id: known.clientId,
        client_secret: 'nope',
      });
      const unknown = await postForm(`${tessera.url}/oauth/token`, {
        grant_type: 'client_credentials',
        client_id: 'no-such-client',
        client_secret: 'nope',
      });
      assert.equal(wrong.status, unknown.status);
      assert.equal(wrong.text, unknown.text);
      assert.deepEqual(
        [...wrong.headers.keys()].filter((h) => h !== 'date' && h !== 'x-request-id'),
        [...unknown.headers.keys()].filter((h) => h !== 'date' && h !== 'x-request-id'),
      );
    } finally {
      await tessera.close();
    }
  });
});

describe('error_description', () => {
  it('never carries CR, LF or characters outside RFC 6749 §5.2', () => {
    assert.equal(sanitizeErrorDescription('a\r\nb"c\\dé\u0000'), 'a??b?c?d??');
    for (let code = 0; code < 0x3000; code++) {
      const out = sanitizeErrorDescription(String.fromCharCode(code));
      assert.match(out, /^[\x20-\x21\x23-\x5b\x5d-\x7e]$/);
    }
  });
});
