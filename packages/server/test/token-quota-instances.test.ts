/**
 * Token quotas held across processes (issue 22): the two workers of one `tessera serve
 * --workers 2` (leasing from their primary), and two instances on one PostgreSQL (one of them
 * with two workers). A client asking for more than its quota gets at least N tokens and at most
 * N plus one per process. Hourly windows, so a run does not straddle a window's end.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadKek } from '../src/lib/kek.js';
import { ClientRegistry } from '../src/registry/client-registry.js';
import { SecretHasher } from '../src/secrets/client-secret.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { runCli } from './support/cli.js';
import { newKek, startTesseraProcess, within, type TesseraProcess } from './support/instances.js';
import { postgresSkipReason } from './support/postgres.js';
import { createTestSchema, type TestSchema } from './support/postgres-schema.js';
import { basicAuthorization } from './support/tessera.js';

/** One token request on a new connection, so the primary hands it to the next worker. */
function tokenStatus(url: string, clientId: string, secret: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${url}/oauth/token`,
      {
        method: 'POST',
        agent: false,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basicAuthorization(clientId, secret),
        },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on('error', reject);
    outgoing.end('grant_type=client_credentials');
  });
}

async function issued(urls: string[], clientId: string, secret: string, requests: number) {
  let ok = 0;
  for (let i = 0; i < requests; i++) {
    const status = await tokenStatus(urls[i % urls.length]!, clientId, secret);
    assert.ok(status === 200 || status === 429, `status ${status}`);
    if (status === 200) ok += 1;
  }
  return ok;
}

const listening = (server: TesseraProcess) => server.output().split('tessera listening').length - 1;

describe('token quotas across the workers of one serve', () => {
  let dataDir: string;
  let server: TesseraProcess;
  const env = () => ({ TESSERA_DATA_DIR: dataDir });
  const create = async (quota: string) => {
    const created = await runCli(
      ['clients', 'create', '--name', 'q', '--token-quota', quota, '--json'],
      env(),
    );
    assert.equal(created.status, 0, created.stderr);
    return JSON.parse(created.stdout) as { client_id: string; client_secret: string };
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-quota-workers-'));
    await create('1/h'); // migrates the database before the server starts
    server = await startTesseraProcess(`sqlite:${join(dataDir, 'tessera.db')}`, {
      ...env(),
      TESSERA_WORKERS: '2',
    });
    assert.ok(await within(20_000, async () => listening(server) >= 2), server.output());
  });

  after(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('gives exactly 5 of 8 tokens for 5/h, spread over both workers', async () => {
    const client = await create('5/h');
    assert.equal(await issued([server.url], client.client_id, client.client_secret, 8), 5);
  });

  it('gives 40 to 42 of 60 tokens for 40/h (N, plus at most one per process)', async () => {
    const client = await create('40/h');
    const ok = await issued([server.url], client.client_id, client.client_secret, 60);
    assert.ok(ok >= 40 && ok <= 42, `issued ${ok}`);
  });
});

const skip = await postgresSkipReason();

describe('token quotas across instances on one PostgreSQL', { skip }, () => {
  let schema: TestSchema;
  let dataDir: string;
  let a: TesseraProcess;
  let b: TesseraProcess;
  let store: PostgresStore;
  let registry: ClientRegistry;

  before(async () => {
    schema = await createTestSchema('token_quota');
    dataDir = await mkdtemp(join(tmpdir(), 'tessera-quota-pg-'));
    const kek = newKek();
    const env = (name: string, workers: number) => ({
      TESSERA_KEK: kek,
      TESSERA_DATA_DIR: join(dataDir, name),
      TESSERA_WORKERS: String(workers),
    });
    [a, b] = await Promise.all([
      startTesseraProcess(schema.url, env('a', 2)),
      startTesseraProcess(schema.url, env('b', 1)),
    ]);
    assert.ok(await within(20_000, async () => listening(a) >= 2), a.output());
    store = new PostgresStore(schema.url);
    const hasher = await SecretHasher.load(store, loadKek(kek, join(dataDir, 'unused.key')));
    registry = new ClientRegistry(store, hasher);
  });

  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await store?.close();
    await schema?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const create = async (quota: string) => {
    const { client, clientSecret } = await registry.create({ name: 'q', tokenQuota: quota });
    return { clientId: client.clientId, clientSecret };
  };

  it('gives exactly 6 of 10 tokens for 6/h, asked alternately at both instances', async () => {
    const client = await create('6/h');
    assert.equal(await issued([a.url, b.url], client.clientId, client.clientSecret, 10), 6);
  });

  it('gives 60 to 63 of 90 tokens for 60/h over three processes', async () => {
    const client = await create('60/h');
    const ok = await issued([a.url, b.url], client.clientId, client.clientSecret, 90);
    assert.ok(ok >= 60 && ok <= 63, `issued ${ok}`);
  });
});
