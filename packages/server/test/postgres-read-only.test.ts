/**
 * A PostgreSQL that turns read-only under a running server (a standby promoted the wrong way,
 * a database put into read-only mode for maintenance): tokens for known clients keep coming,
 * writes are refused with a 503 that says why, /readyz reports it, and writes work again once
 * the database accepts them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { newKek } from './support/instances.js';
import { postgresSkipReason, postgresUrl } from './support/postgres.js';
import { createTestSchema, terminateBackends, type TestSchema } from './support/postgres-schema.js';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

const skip = await postgresSkipReason();

describe('PostgreSQL turning read-only under a running server', { skip }, () => {
  let schema: TestSchema;
  let role: string;
  let tessera: TestTessera;

  before(async () => {
    schema = await createTestSchema('readonly');
    // A role of its own, so making its sessions read-only touches no other test.
    role = `tessera_ro_${randomBytes(4).toString('hex')}`;
    const database = new URL(postgresUrl).pathname.slice(1);
    await schema.admin(`CREATE ROLE "${role}" LOGIN`);
    await schema.admin(`GRANT CREATE ON DATABASE "${database}" TO "${role}"`);
    const url = new URL(schema.url);
    url.username = role;
    tessera = await startTessera({ database: url.toString(), env: { TESSERA_KEK: newKek() } });
  });
  after(async () => {
    await tessera?.close();
    if (role) {
      await schema.drop();
      const database = new URL(postgresUrl).pathname.slice(1);
      await schema.admin(`REVOKE CREATE ON DATABASE "${database}" FROM "${role}"`);
      await schema.admin(`DROP OWNED BY "${role}"`);
      await schema.admin(`DROP ROLE "${role}"`);
    }
  });

  it('keeps issuing tokens, refuses writes with a 503 that says why, and recovers', async () => {
    const client = await tessera.createClient({ scope: 'read' });
    const admin = await tessera.createClient({ scope: 'tessera:admin' });
    const adminToken = await getToken(tessera.url, admin);
    const token = () =>
      postForm(
        `${tessera.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: basicAuthorization(client.clientId, client.clientSecret) },
      );
    const createClient = () =>
      fetch(`${tessera.url}/admin/v1/clients`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'during maintenance' }),
      });
    assert.equal((await token()).status, 200);

    // New sessions of the role are read-only; the server's current ones are cut, so its pool
    // reconnects into read-only sessions.
    await schema.admin(`ALTER ROLE "${role}" SET default_transaction_read_only = on`);
    await terminateBackends(schema);

    for (let i = 0; i < 10; i += 1) assert.equal((await token()).status, 200);
    let refused: Response | undefined;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      const response = await createClient();
      // The first write after the cut may find its connection gone: 503 "unavailable".
      if (response.status === 503) {
        const body = (await response.json()) as { error_description: string };
        if (body.error_description.includes('read-only')) {
          assert.deepEqual(body, {
            error: 'temporarily_unavailable',
            error_description: 'The database refuses writes (read-only database); try again later',
          });
          refused = response;
          break;
        }
      } else {
        assert.fail(`a write succeeded on a read-only database: ${response.status}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(refused, 'writes were refused as read-only');
    assert.equal(refused.headers.get('retry-after'), '30');
    const ready = (await (await fetch(`${tessera.url}/readyz`)).json()) as {
      status: string;
      checks: Record<string, string>;
    };
    assert.equal(ready.status, 'degraded');
    assert.equal(ready.checks.store_writes, 'refused: read-only database');

    await schema.admin(`ALTER ROLE "${role}" RESET default_transaction_read_only`);
    await terminateBackends(schema);
    let accepted = false;
    for (let attempt = 0; attempt < 20 && !accepted; attempt += 1) {
      accepted = (await createClient()).status === 201;
      if (!accepted) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(accepted, 'writes work again once the database takes them');
    assert.equal((await token()).status, 200);
    const recovered = (await (await fetch(`${tessera.url}/readyz`)).json()) as { status: string };
    assert.equal(recovered.status, 'ready');
  });
});
