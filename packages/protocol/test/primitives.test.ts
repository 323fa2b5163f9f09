import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  base64url,
  basicAuthorization,
  dpopClaimsProblem,
  dpopReplayEntry,
  fromBase64,
  normalizeHtu,
  parseBasicAuthorization,
  ReplayCache,
  sha256Base64url,
  utf8Base64,
} from '../src/index.js';

const nodeDecode = (encoded: string) => Buffer.from(encoded, 'base64').toString('utf8');

describe('base64url', () => {
  it('is what Buffer writes, for any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        assert.equal(base64url(bytes), Buffer.from(bytes).toString('base64url'));
        assert.deepEqual(fromBase64(Buffer.from(bytes).toString('base64')), bytes);
      }),
    );
  });

  it('utf8Base64 and sha256Base64url agree with node:crypto and Buffer', async () => {
    const { createHash } = await import('node:crypto');
    for (const text of ['', 'abc', 'clé:секрет', '😀']) {
      assert.equal(utf8Base64(text), Buffer.from(text, 'utf8').toString('base64'));
      assert.equal(
        await sha256Base64url(text),
        createHash('sha256').update(text).digest('base64url'),
      );
    }
  });
});

describe('parseBasicAuthorization', () => {
  it('inverts basicAuthorization, with the atob decoder and with Buffer', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (id, secret) => {
        const header = basicAuthorization(id, secret);
        for (const parsed of [
          parseBasicAuthorization(header),
          parseBasicAuthorization(header, nodeDecode),
        ]) {
          assert.ok(!('problem' in parsed));
          assert.deepEqual([parsed.clientId, parsed.secret], [id, secret]);
        }
      }),
    );
  });

  it('gives the same answer with either decoder for any header', () => {
    fc.assert(
      fc.property(fc.string(), (tail) => {
        const header = `Basic ${tail}`;
        const viaAtob = parseBasicAuthorization(header);
        const viaBuffer = parseBasicAuthorization(header, nodeDecode);
        // atob refuses some lengths and paddings Buffer tolerates: it may refuse where Buffer
        // reads on, never the other way round; whatever both read, they read the same.
        if ('problem' in viaAtob) return;
        assert.deepEqual(viaAtob, viaBuffer);
      }),
    );
  });

  it('keeps the raw secret beside the decoded one, and names each malformation', () => {
    const raw = (text: string) => `Basic ${Buffer.from(text).toString('base64')}`;
    assert.deepEqual(parseBasicAuthorization(raw('id:a+b%2')), {
      clientId: 'id',
      secret: 'a+b%2',
    });
    assert.deepEqual(parseBasicAuthorization(raw('id:a+b')), {
      clientId: 'id',
      secret: 'a b',
      rawSecret: 'a+b',
    });
    assert.deepEqual(parseBasicAuthorization('Bearer x'), {
      problem: 'Authorization header is not Basic',
    });
    assert.deepEqual(parseBasicAuthorization('Basic ***'), {
      problem: 'Basic credentials are not base64',
    });
    assert.deepEqual(parseBasicAuthorization(raw('nocolon')), {
      problem: 'Basic credentials have no colon',
    });
    assert.deepEqual(parseBasicAuthorization(raw(':secret')), {
      problem: 'Basic credentials are empty',
    });
  });
});

describe('ReplayCache', () => {
  it('refuses a replay until expiry, then accepts; refuses new keys when full of live ones', () => {
    let now = 100;
    const cache = new ReplayCache(2, () => now);
    assert.equal(cache.use('a', 110), 'fresh');
    assert.equal(cache.use('a', 110), 'replayed');
    assert.equal(cache.use('b', 120), 'fresh');
    assert.equal(cache.use('c', 120), 'full');
    now = 111;
    assert.equal(cache.use('c', 130), 'fresh');
    assert.equal(cache.use('a', 130), 'full');
    assert.equal(cache.size, 2);
    cache.clear();
    assert.equal(cache.size, 0);
  });
});

describe('DPoP claim checks', () => {
  const window = { maxAgeSeconds: 300, maxSkewSeconds: 60 };
  const expected = { htm: 'POST', htu: 'https://as.example/token', nowSeconds: 1000, ...window };
  const good = { jti: 'j', htm: 'POST', htu: 'https://AS.example:443/token?x#y', iat: 1000 };

  it('accepts a matching proof and names the first failed check', () => {
    assert.equal(dpopClaimsProblem(good, expected), undefined);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...good, jti: '' }, 'jti missing'],
      [{ ...good, jti: 'x'.repeat(257) }, 'jti missing'],
      [{ ...good, htm: 'GET' }, 'htm does not match the request method'],
      [{ ...good, htu: 'https://as.example/other' }, 'htu does not match the request URI'],
      [{ ...good, htu: 'not a url' }, 'htu does not match the request URI'],
      [{ ...good, iat: undefined }, 'iat missing'],
      [{ ...good, iat: 1061 }, 'iat outside the accepted window'],
      [{ ...good, iat: 699 }, 'iat outside the accepted window'],
    ];
    for (const [payload, problem] of cases)
      assert.equal(dpopClaimsProblem(payload, expected), problem);
    assert.equal(
      dpopClaimsProblem({ ...good, ath: 'h' }, { ...expected, ath: 'other' }),
      'ath does not match the access token',
    );
    assert.equal(dpopClaimsProblem({ ...good, ath: 'h' }, { ...expected, ath: 'h' }), undefined);
  });

  it('keys the replay cache by thumbprint and jti until the window closes', () => {
    assert.deepEqual(dpopReplayEntry('k', good, window), { key: 'k:j', until: 1360 });
    assert.equal(normalizeHtu('https://a.example/p?q#f'), 'https://a.example/p');
  });
});

describe('packages/protocol', () => {
  it('has no runtime dependencies and imports nothing but its own files', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const dir = new URL('../', import.meta.url);
    const manifest = JSON.parse(await readFile(new URL('package.json', dir), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    assert.deepEqual(manifest.dependencies ?? {}, {});
    for (const name of await readdir(new URL('src/', dir))) {
      const text = await readFile(new URL(`src/${name}`, dir), 'utf8');
      for (const match of text.matchAll(/\bfrom '([^']+)'/g))
        assert.ok(match[1]!.startsWith('./'), `${name} imports ${match[1]}`);
    }
  });
});
