import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { basicAuthorization, startTessera, type TestTessera } from './support/tessera.js';

/** Raw HTTP so the fuzzer controls every byte fetch would normalise; times out instead of hanging. */
function rawPost(url: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('request hung for 5 s')));
    req.on('error', reject);
    req.end(body);
  });
}

describe('token endpoint under random input', () => {
  let tessera: TestTessera;
  let client: { clientId: string; clientSecret: string };
  before(async () => {
    tessera = await startTessera();
    client = await tessera.createClient({
      scope: 'read write',
      audience: 'https://api.example.com',
    });
  });
  after(() => tessera.close());

  const paramName = fc.oneof(
    fc.constantFrom(
      'grant_type',
      'client_id',
      'client_secret',
      'scope',
      'resource',
      'audience',
      '__proto__',
      'constructor',
    ),
    fc.string({ maxLength: 12 }),
  );
  const paramValue = () =>
    fc.oneof(
      fc.constantFrom(
        'client_credentials',
        'read',
        'read write',
        'https://api.example.com',
        '',
        '%zz',
        client.clientId,
        client.clientSecret,
      ),
      fc.string({ maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
    );
  const contentType = fc.oneof(
    fc.constantFrom(
      'application/x-www-form-urlencoded',
      'application/x-www-form-urlencoded; charset=iso-8859-1',
      'multipart/form-data; boundary=XyZ',
      'multipart/form-data',
      'application/json',
      'text/plain',
      'application/octet-stream',
      '',
    ),
    fc.string({ maxLength: 30 }),
  );
  const authorization = () =>
    fc.oneof(
      fc.constant(undefined),
      fc.constant(basicAuthorization(client.clientId, client.clientSecret)),
      fc.string({ maxLength: 60 }).map((s) => `Basic ${s}`),
      fc.string({ maxLength: 60 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
      fc.string({ maxLength: 60 }),
    );

  function encodeBody(kind: number, entries: Array<[string, string]>, raw: Uint8Array): Buffer {
    switch (kind) {
      case 0:
        return Buffer.from(new URLSearchParams(entries).toString());
      case 1:
        return Buffer.from(JSON.stringify(Object.fromEntries(entries)));
      case 2:
        return Buffer.from(
          entries
            .map(([k, v]) => `--XyZ\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`)
            .join('') + '--XyZ--\r\n',
        );
      default:
        return Buffer.from(raw);
    }
  }

  it('never answers 5xx and never hangs', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(paramName, paramValue()), { maxLength: 6 }),
        fc.integer({ min: 0, max: 3 }),
        fc.uint8Array({ maxLength: 300 }),
        contentType,
        authorization(),
        fc.string({ maxLength: 30 }),
        async (entries, kind, raw, type, auth, query) => {
          const headers: Record<string, string> = {};
          if (type !== '') headers['content-type'] = type.replace(/[^\x20-\x7e]/g, '');
          if (auth !== undefined) headers.authorization = auth.replace(/[^\x20-\x7e]/g, '');
          const path = `/oauth/token${query ? `?${encodeURIComponent(query)}=${encodeURIComponent(query)}` : ''}`;
          const status = await rawPost(
            `${tessera.url}${path}`,
            headers,
            encodeBody(kind, entries, raw),
          );
          assert.ok(status >= 200 && status < 500, `status ${status}`);
        },
      ),
      { numRuns: 400 },
    );
  });
});
