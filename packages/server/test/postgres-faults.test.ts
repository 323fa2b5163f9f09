import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { newKek } from './support/instances.js';
import { postgresSkipReason, postgresUrl } from './support/postgres.js';
import { createTestSchema, terminateBackends, type TestSchema } from './support/postgres-schema.js';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

const skip = await postgresSkipReason();

describe('PostgreSQL connections terminated under load', { skip }, () => {
  let schema: TestSchema;
  let servers: TestTessera[];
  const kek = newKek();

  before(async () => {
    schema = await createTestSchema('faults');
    servers = await Promise.all(
      [0, 1].map(() => startTessera({ database: schema.url, env: { TESSERA_KEK: kek } })),
    );
  });
  after(async () => {
    await Promise.all(servers?.map((server) => server.close()) ?? []);
    await schema?.drop();
  });

  it('keeps issuing tokens from cache, answers writes 503 and loses nothing acknowledged', async () => {
    const [a, b] = servers as [TestTessera, TestTessera];
    const clients = await Promise.all([0, 1, 2, 3].map(() => a.createClient({ scope: 'read' })));
    const adminA = await a.createClient({ scope: 'tessera:admin' });
    const adminB = await b.createClient({ scope: 'tessera:admin' });
    // Warm both caches: known clients are what must keep working.
    for (const server of servers) for (const client of clients) await getToken(server.url, client);
    const adminTokens = new Map([
      [a, await getToken(a.url, adminA)],
      [b, await getToken(b.url, adminB)],
    ]);

    let running = true;
    let tokenRequests = 0;
    let tokenFailures = 0;
    const tokenStatuses = new Map<number, number>();
    const burst = async (worker: number) => {
      for (let i = 0; running; i += 1) {
        const server = servers[(worker + i) % 2]!;
        const client = clients[(worker + i) % clients.length]!;
        const result = await postForm(
          `${server.url}/oauth/token`,
          { grant_type: 'client_credentials' },
          { authorization: basicAuthorization(client.clientId, client.clientSecret) },
        );
        tokenRequests += 1;
        if (result.status !== 200) {
          tokenFailures += 1;
          tokenStatuses.set(result.status, (tokenStatuses.get(result.status) ?? 0) + 1);
        }
      }
    };

    const acknowledged: string[] = [];
    const refused: unknown[] = [];
    let writes = 0;
    const writer = async (server: TestTessera) => {
      for (let i = 0; running; i += 1) {
        const response = await fetch(`${server.url}/admin/v1/clients`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${adminTokens.get(server)}`,
            'content-type': 'application/json',
          },
          body: JSON.stringify({ name: `written-${i}`, scope: 'read' }),
        });
        writes += 1;
        const body = (await response.json()) as { client_id?: string };
        if (response.status === 201) acknowledged.push(body.client_id!);
        else refused.push({ status: response.status, body });
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };

    const load = Promise.all([
      ...Array.from({ length: 8 }, (_, worker) => burst(worker)),
      writer(a),
      writer(b),
    ]);
    let terminated = 0;
    for (let round = 0; round < 4; round += 1) {
      await new Promise((resolve) => setTimeout(resolve, 400));
      terminated += await terminateBackends(schema);
    }
    await new Promise((resolve) => setTimeout(resolve, 400));
    running = false;
    await load;

    console.log(
      `fault test: ${terminated} backends terminated; ${tokenFailures} of ${tokenRequests} token requests failed` +
        ` ${JSON.stringify(Object.fromEntries(tokenStatuses))}; ${refused.length} of ${writes} admin writes refused,` +
        ` ${acknowledged.length} acknowledged`,
    );
    assert.ok(terminated >= 4, `terminated only ${terminated} backends`);
    assert.ok(tokenRequests > 100);
    // Known clients are served from memory: a terminated connection costs no token.
    assert.equal(tokenFailures, 0);
    // A refused write is a clear 503, never a 500.
    for (const failure of refused)
      assert.deepEqual(failure, {
        status: 503,
        body: {
          error: 'temporarily_unavailable',
          error_description: 'The database is unavailable; try again',
        },
      });
    assert.ok(acknowledged.length > 0);

    // Nothing acknowledged is lost: a fresh connection finds every client, and both
    // instances (reconnected by themselves) serve them.
    const check = new PostgresStore(
      `${postgresUrl}${postgresUrl.includes('?') ? '&' : '?'}schema=${schema.schema}&application_name=tessera-fault-check`,
    );
    try {
      const stored = new Set((await check.listClients()).map((client) => client.clientId));
      assert.deepEqual(
        acknowledged.filter((id) => !stored.has(id)),
        [],
      );
    } finally {
      await check.close();
    }
    for (const server of servers) {
      const response = await fetch(`${server.url}/admin/v1/clients`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${adminTokens.get(server)}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ name: 'after the fault', scope: 'read' }),
      });
      assert.equal(response.status, 201);
      const created = (await response.json()) as { client_id: string; client_secret: string };
      const other = servers.find((s) => s !== server)!;
      await getToken(other.url, {
        clientId: created.client_id,
        clientSecret: created.client_secret,
      });
    }
  });
});
