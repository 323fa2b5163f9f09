/**
 * Issue 16's smaller items, over real HTTP: JSON bodies with a repeated key are refused like
 * repeated form fields; a missing kek.key is never replaced while the database holds sealed
 * data; a revocation answer matches what was committed; unknown and known client_ids cost
 * the same store reads on the failure path.
 */
import assert from 'node:assert/strict';
import { existsSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { repeatedTopLevelKey } from '../src/http/parse-params.js';
import { KekMissingError } from '../src/lib/kek.js';
import { StoreWritesRefusedError } from '../src/store/errors.js';
import { runCli } from './support/cli.js';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

describe('JSON bodies with a repeated key', () => {
  let tessera: TestTessera;
  let client: { clientId: string; clientSecret: string };
  before(async () => {
    tessera = await startTessera();
    client = await tessera.createClient();
  });
  after(() => tessera.close());

  const postJson = async (body: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${tessera.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: response.status, body: await response.json() };
  };

  it('are refused with invalid_request, as form and multipart are', async () => {
    const { clientId, clientSecret } = client;
    const sneaky = `{"grant_type":"client_credentials","client_id":"x","client_id":${JSON.stringify(clientId)},"client_secret":${JSON.stringify(clientSecret)}}`;
    assert.deepEqual(await postJson(sneaky), {
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'Parameter client_id is included more than once',
      },
    });
    // The same name spelled with an escape is the same name.
    const escaped = `{"grant_type":"client_credentials","scope":"a","sc\\u006fpe":"b"}`;
    const auth = { authorization: basicAuthorization(clientId, clientSecret) };
    assert.deepEqual(await postJson(escaped, auth), {
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'Parameter scope is included more than once',
      },
    });
    const fine = await postJson('{"grant_type":"client_credentials"}', auth);
    assert.equal(fine.status, 200);
  });

  it('finds repeats only among top-level names', () => {
    assert.equal(repeatedTopLevelKey('{"a":1,"b":{"a":2},"c":[{"a":3}]}', 3), undefined);
    assert.equal(repeatedTopLevelKey('{"a":"\\"a\\":","a":2}', 1), 'a');
    assert.equal(repeatedTopLevelKey('{ "x" : [1,{"x":1}] , "x" : "y" }', 1), 'x');
  });
});

describe('a missing kek.key', () => {
  it('is not replaced while the database holds sealed data: serve and the CLI refuse', async () => {
    const first = await startTessera();
    const { dataDir, database } = first;
    // Keep the directory: close without removing it, by starting on a directory we own.
    await first.server.close();
    const keyFile = join(dataDir, 'kek.key');
    assert.ok(existsSync(keyFile));
    unlinkSync(keyFile);
    try {
      await assert.rejects(startTessera({ dataDir }), (error: unknown) => {
        assert.ok(error instanceof KekMissingError);
        assert.match(String((error as Error).message), /kek\.key is missing.*no new key file/);
        return true;
      });
      assert.equal(existsSync(keyFile), false, 'serve wrote no new kek.key');
      const cli = await runCli(['clients', 'list', '--database', database], {
        TESSERA_DATA_DIR: dataDir,
      });
      assert.notEqual(cli.status, 0);
      assert.match(cli.stderr, /kek\.key is missing/);
      assert.equal(existsSync(keyFile), false, 'the CLI wrote no new kek.key');
    } finally {
      await first.close();
    }
  });
});

describe('a revocation answer matches what was committed', () => {
  it('answers 200 when the write reported an error after committing', async () => {
    const tessera = await startTessera();
    try {
      const client = await tessera.createClient();
      const token = await getToken(tessera.url, client);
      const store = tessera.server.context.store;
      const real = store.addRevocation.bind(store);
      // The commit succeeds; what follows it fails, as a full disk can make it.
      store.addRevocation = async (revocation) => {
        await real(revocation);
        throw new StoreWritesRefusedError('disk full', { cause: new Error('SQLITE_FULL') });
      };
      const answer = await postForm(
        `${tessera.url}/oauth/revoke`,
        { token },
        { authorization: basicAuthorization(client.clientId, client.clientSecret) },
      );
      assert.equal(answer.status, 200, answer.text);
      const introspector = await tessera.createClient({ scope: 'tessera:introspect' });
      const introspected = await postForm(
        `${tessera.url}/oauth/introspect`,
        { token },
        { authorization: basicAuthorization(introspector.clientId, introspector.clientSecret) },
      );
      assert.deepEqual(introspected.body, { active: false }, 'the running server agrees');
    } finally {
      await tessera.close();
    }
  });

  it('answers 503 when nothing was committed, and the running server agrees', async () => {
    const tessera = await startTessera();
    try {
      const client = await tessera.createClient();
      const token = await getToken(tessera.url, client);
      const store = tessera.server.context.store;
      store.addRevocation = async () => {
        throw new StoreWritesRefusedError('disk full', { cause: new Error('SQLITE_FULL') });
      };
      const answer = await postForm(
        `${tessera.url}/oauth/revoke`,
        { token },
        { authorization: basicAuthorization(client.clientId, client.clientSecret) },
      );
      assert.equal(answer.status, 503);
      assert.deepEqual(await tessera.server.context.store.listRevocations(0), []);
    } finally {
      await tessera.close();
    }
  });
});

describe('unknown and known client_ids on the failure path', () => {
  it('cost the same store reads: one per id per window, none again within it', async () => {
    const tessera = await startTessera({
      authFailureLimits: { perClient: 1000, perAddress: 1000, windowSeconds: 60, lockSeconds: 1 },
    });
    try {
      const known = await tessera.createClient();
      await getToken(tessera.url, known); // cached now
      // Past the window since the known client was read, as for any client cached a while.
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const { clients } = tessera.server.context;
      const attempt = async (clientId: string) => {
        const before = clients.storeReads;
        const answer = await postForm(
          `${tessera.url}/oauth/token`,
          { grant_type: 'client_credentials' },
          { authorization: basicAuthorization(clientId, 'not-the-secret') },
        );
        assert.equal(answer.status, 401);
        return clients.storeReads - before;
      };
      const unknown = `unknown-${Date.now()}`;
      assert.deepEqual(
        [await attempt(known.clientId), await attempt(unknown)],
        [1, 1],
        'first failure: one read each',
      );
      assert.deepEqual(
        [await attempt(known.clientId), await attempt(unknown)],
        [0, 0],
        'again within the window: none',
      );
      // The success path still reads nothing.
      const reads = clients.storeReads;
      await getToken(tessera.url, known);
      assert.equal(clients.storeReads, reads);
    } finally {
      await tessera.close();
    }
  });

  it('a flood of distinct unknown ids stays bounded and never evicts known clients', async () => {
    const tessera = await startTessera({
      authFailureLimits: {
        perClient: 1000,
        perAddress: 1_000_000,
        windowSeconds: 60,
        lockSeconds: 1,
      },
    });
    try {
      const known = await tessera.createClient();
      await getToken(tessera.url, known);
      const { clients } = tessera.server.context;
      for (let batch = 0; batch < 12; batch++) {
        await Promise.all(
          Array.from({ length: 1_000 }, (_, i) => clients.get(`flood-${batch}-${i}`)),
        );
      }
      assert.ok(clients.unknownSize <= 10_000, String(clients.unknownSize));
      const reads = clients.storeReads;
      await getToken(tessera.url, known);
      assert.equal(clients.storeReads, reads, 'the known client is still cached');
    } finally {
      await tessera.close();
    }
  });
});
