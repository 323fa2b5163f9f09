/**
 * `tessera operators add|list|remove` and `tessera audit list --actor`, through the real bin
 * on a real SQLite file.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from './support/cli.js';
import { startTessera, type TestTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

describe('tessera operators and audit list --actor', () => {
  let tessera: TestTessera;
  before(async () => {
    tessera = await startTessera();
  });
  after(() => tessera.close());
  const cli = (...args: string[]) => runCli([...args, '--database', tessera.database]);

  it('adds, lists and removes operators, auditing each change', async () => {
    const added = await cli('operators', 'add', 'Alice@Example.com', '--role', 'operator');
    assert.equal(added.status, 0, added.stderr);
    assert.equal(added.stdout, 'alice@example.com is an operator with the operator role.\n');
    await cli('operators', 'add', 'bob@example.com', '--role', 'viewer');
    const listed = await cli('operators', 'list', '--json');
    assert.deepEqual(
      (JSON.parse(listed.stdout) as Array<{ email: string; role: string }>).map(
        ({ email, role }) => [email, role],
      ),
      [
        ['alice@example.com', 'operator'],
        ['bob@example.com', 'viewer'],
      ],
    );
    assert.equal((await cli('operators', 'remove', 'bob@example.com')).status, 0);
    const missing = await cli('operators', 'remove', 'bob@example.com');
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr, 'tessera: bob@example.com is not on the operator list\n');
    const bad = await cli('operators', 'add', 'carol@example.com', '--role', 'root');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /operators add needs --role viewer, operator or admin/);
    assert.equal((await cli('operators', 'add', 'not-an-email', '--role', 'viewer')).status, 2);
    const audit = JSON.parse(
      (await cli('audit', 'list', '--json', '--limit', '3')).stdout,
    ) as Array<{
      action: string;
      target: string;
    }>;
    assert.deepEqual(
      audit.map((entry) => [entry.action, entry.target]),
      [
        ['operator.remove', 'bob@example.com'],
        ['operator.add', 'bob@example.com'],
        ['operator.add', 'alice@example.com'],
      ],
    );
  });

  it('audit list --actor keeps one machine client’s changes', async () => {
    const admin = await tessera.createClient({ scope: 'tessera:admin' });
    const token = await getToken(tessera.url, admin);
    const created = await fetch(`${tessera.url}/admin/v1/clients`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"name":"by the admin client"}',
    });
    assert.equal(created.status, 201);
    const requestId = created.headers.get('x-request-id');
    const mine = JSON.parse(
      (await cli('audit', 'list', '--actor', admin.clientId, '--json')).stdout,
    ) as Array<Record<string, unknown>>;
    assert.equal(mine.length, 1);
    assert.equal(mine[0]!.actor, `admin-api:${admin.clientId}`);
    assert.equal(mine[0]!.action, 'client.create');
    assert.equal(mine[0]!.source_address, '127.0.0.1');
    assert.equal(mine[0]!.request_id, requestId);
    assert.equal(mine[0]!.person, null);
    const table = await cli('audit', 'list', '--actor', admin.clientId);
    assert.match(table.stdout, /127\.0\.0\.1/);
    assert.deepEqual(
      JSON.parse((await cli('audit', 'list', '--actor', 'nobody', '--json')).stdout),
      [],
    );
  });
});
