/**
 * What the outbox holds for the changes a running server makes: client changes through the
 * registry (the CLI's and the admin API's path) and brute-force locks, each with its data and
 * never a secret. The store's own contract tests cover the transaction; events-webhook.test.ts
 * the delivery.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';
import { ClientRegistry } from '../src/registry/client-registry.js';
import { within } from './support/instances.js';

describe('events outbox of a running server', () => {
  let tessera: TestTessera;
  before(async () => {
    tessera = await startTessera({
      authFailureLimits: { perClient: 3, perAddress: 1000, windowSeconds: 60, lockSeconds: 1 },
    });
  });
  after(() => tessera.close());

  it('records client changes and a lockout’s start and end, without secrets', async () => {
    const start = await tessera.server.context.store.latestEventSeq();
    // As the CLI and the admin API do: a registry with an actor audits, and so emits events.
    const registry = new ClientRegistry(
      tessera.server.context.store,
      tessera.server.context.hasher,
      {
        actor: 'test:events',
      },
    );
    const { client: created, clientSecret } = await registry.create({
      name: 'watched',
      scope: 'read',
    });
    const client = { clientId: created.clientId, clientSecret };
    for (let i = 0; i < 4; i += 1) {
      await postForm(
        `${tessera.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: basicAuthorization(client.clientId, 'wrong secret') },
      );
    }
    const events = async () => tessera.server.context.store.listEvents(start, 100);
    assert.ok(
      await within(5_000, async () =>
        (await events()).some((event) => event.type === 'lockout.ended'),
      ),
    );
    const recorded = await events();
    assert.deepEqual(
      recorded.map((event) => event.type),
      ['client.created', 'lockout.started', 'lockout.ended'],
    );
    assert.deepEqual(recorded[0]!.data, {
      client_id: client.clientId,
      name: 'watched',
      scope: 'read',
      auth_method: 'any',
    });
    const { until, ...lockout } = recorded[1]!.data as { until: string };
    assert.deepEqual(lockout, { key: 'client_id', refused: true, client_id: client.clientId });
    assert.match(until, /^\d{4}-\d\d-\d\dT/);
    assert.equal(recorded[1]!.clientId, client.clientId);
    assert.ok(!JSON.stringify(recorded).includes(client.clientSecret));
  });
});
