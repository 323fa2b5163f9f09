import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { postgresSkipReason, postgresUrl } from './support/postgres.js';
import { createTestSchema, type TestSchema } from './support/postgres-schema.js';
import { basicAuthorization, postForm, startTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

const skip = await postgresSkipReason();

// What the README's "Operating Tessera" section tells PostgreSQL operators to do.
describe('PostgreSQL backup with pg_dump and pg_restore', { skip }, () => {
  let schema: TestSchema;
  let dir: string;
  before(async () => {
    schema = await createTestSchema('backup');
    dir = await mkdtemp(join(tmpdir(), 'tessera-pgdump-'));
  });
  after(async () => {
    await schema?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('round-trips clients, keys and revocations', async () => {
    const env = { TESSERA_KEK: randomBytes(32).toString('base64') };
    const first = await startTessera({ database: schema.url, dataDir: dir, env });
    const client = await first.createClient({ scope: 'read' });
    const token = await getToken(first.url, client);
    await postForm(
      `${first.url}/oauth/revoke`,
      { token },
      { authorization: basicAuthorization(client.clientId, client.clientSecret) },
    );
    const jwks = await (await fetch(`${first.url}/.well-known/jwks.json`)).json();
    await first.close();

    const dump = join(dir, 'tessera.dump');
    execFileSync('pg_dump', [
      '--format=custom',
      `--schema=${schema.schema}`,
      `--file=${dump}`,
      postgresUrl,
    ]);
    const bytes = await readFile(dump);
    assert.ok(!bytes.includes(client.clientSecret), 'no secret in the dump');
    assert.ok(!bytes.includes('PRIVATE KEY'), 'no plaintext key in the dump');
    await schema.admin(`DROP SCHEMA "${schema.schema}" CASCADE`);
    execFileSync('pg_restore', ['--no-owner', `--dbname=${postgresUrl}`, dump]);

    const restored = await startTessera({ database: schema.url, dataDir: dir, env });
    try {
      const result = await postForm(
        `${restored.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: basicAuthorization(client.clientId, client.clientSecret) },
      );
      assert.equal(result.status, 200, result.text);
      assert.deepEqual(await (await fetch(`${restored.url}/.well-known/jwks.json`)).json(), jwks);
      assert.equal(restored.server.context.revocations.size, 1);
    } finally {
      await restored.close();
    }
  });
});
