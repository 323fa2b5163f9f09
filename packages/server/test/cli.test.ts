import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, tesseraBin } from './support/cli.js';
import { basicAuthorization, postForm, startTessera } from './support/tessera.js';

describe('tessera CLI', () => {
  let dir: string;
  let database: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-cli-'));
    database = `sqlite:${join(dir, 'tessera.db')}`;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('creates a client and prints the secret once, as JSON', async () => {
    const result = await runCli([
      'clients',
      'create',
      '--name',
      'Acme',
      '--scope',
      'a b',
      '--audience',
      'https://api.acme.test',
      '--token-ttl',
      '600',
      '--auth-method',
      'client_secret_post',
      '--json',
      '--database',
      database,
    ]);
    assert.equal(result.status, 0, result.stderr);
    const created = JSON.parse(result.stdout);
    assert.deepEqual(Object.keys(created), [
      'client_id',
      'client_secret',
      'name',
      'status',
      'scope',
      'audience',
      'token_ttl',
      'auth_method',
      'grant_types',
      'token_quota',
      'reuse_tokens',
      'created_at',
      'updated_at',
    ]);
    assert.match(created.client_secret, /^tsr_[A-Za-z0-9_-]{43}$/);
    assert.equal(created.scope, 'a b');
    assert.deepEqual(created.audience, ['https://api.acme.test']);
    assert.equal(created.token_ttl, 600);
    assert.equal(created.auth_method, 'client_secret_post');

    const shown = await runCli([
      'clients',
      'show',
      created.client_id,
      '--json',
      '--database',
      database,
    ]);
    assert.equal(shown.status, 0, shown.stderr);
    assert.ok(!shown.stdout.includes(created.client_secret), 'show never prints the secret');
    const view = JSON.parse(shown.stdout);
    assert.equal(view.secrets.length, 1);
    assert.deepEqual(Object.keys(view.secrets[0]), [
      'id',
      'created_at',
      'expires_at',
      'last_used_at',
    ]);

    const listed = await runCli(['clients', 'list', '--json', '--database', database]);
    assert.ok(!listed.stdout.includes(created.client_secret));
    assert.deepEqual(
      JSON.parse(listed.stdout).map((c: { client_id: string }) => c.client_id),
      [created.client_id],
    );

    const raw = await readFile(join(dir, 'tessera.db'));
    const wal = await readFile(join(dir, 'tessera.db-wal')).catch(() => Buffer.alloc(0));
    assert.ok(
      !raw.includes(created.client_secret) && !wal.includes(created.client_secret),
      'the database holds no plaintext secret',
    );
  });

  it('prints a human-readable create with a warning', async () => {
    const result = await runCli(['clients', 'create', '--name', 'Plain', '--database', database]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(
      result.stdout,
      /^client_id: {5}\S+\nclient_secret: tsr_\S+\n\nStore the secret now: it is shown only this once and cannot be recovered\.\n$/,
    );
  });

  it('disables, enables and deletes clients', async () => {
    const created = JSON.parse(
      (await runCli(['clients', 'create', '--name', 'Tmp', '--json', '--database', database]))
        .stdout,
    );
    const disabled = await runCli([
      'clients',
      'disable',
      created.client_id,
      '--json',
      '--database',
      database,
    ]);
    assert.equal(JSON.parse(disabled.stdout).status, 'disabled');
    const enabled = await runCli(['clients', 'enable', created.client_id, '--database', database]);
    assert.equal(enabled.stdout, `Client ${created.client_id} is enabled.\n`);
    const deleted = await runCli([
      'clients',
      'delete',
      created.client_id,
      '--json',
      '--database',
      database,
    ]);
    assert.deepEqual(JSON.parse(deleted.stdout), { client_id: created.client_id, deleted: true });
    const missing = await runCli(['clients', 'show', created.client_id, '--database', database]);
    assert.equal(missing.status, 1);
    assert.equal(missing.stderr, `tessera: no client with client_id ${created.client_id}\n`);
  });

  it('refuses bad input with a clear message and a usage exit status', async () => {
    const noName = await runCli(['clients', 'create', '--database', database]);
    assert.equal(noName.status, 2);
    assert.match(noName.stderr, /^tessera: clients create needs --name\n/);
    const unknownFlag = await runCli(['clients', 'list', '--colour', '--database', database]);
    assert.equal(unknownFlag.status, 2);
    assert.match(unknownFlag.stderr, /Unknown option '--colour'/);
    const badMethod = await runCli([
      'clients',
      'create',
      '--name',
      'x',
      '--auth-method',
      'client_secret_jwt',
      '--database',
      database,
    ]);
    assert.equal(badMethod.status, 1);
    assert.equal(
      badMethod.stderr,
      'tessera: auth method must be one of client_secret_basic, client_secret_post, any, private_key_jwt, tls_client_auth, self_signed_tls_client_auth, federated\n',
    );
    const keyless = await runCli([
      'clients',
      'create',
      '--name',
      'x',
      '--auth-method',
      'private_key_jwt',
      '--database',
      database,
    ]);
    assert.equal(keyless.status, 1);
    assert.equal(
      keyless.stderr,
      'tessera: private_key_jwt needs exactly one of jwks or jwks_uri\n',
    );
    const badScope = await runCli([
      'clients',
      'create',
      '--name',
      'x',
      '--scope',
      'a "b"',
      '--database',
      database,
    ]);
    assert.equal(badScope.status, 1);
    const badTtl = await runCli([
      'clients',
      'create',
      '--name',
      'x',
      '--token-ttl',
      '-5',
      '--database',
      database,
    ]);
    assert.equal(badTtl.status, 2);
    const shortImport = await runCli([
      'clients',
      'create',
      '--name',
      'x',
      '--client-id',
      'legacy',
      '--client-secret',
      'short',
      '--database',
      database,
    ]);
    assert.equal(shortImport.status, 1);
    assert.equal(
      shortImport.stderr,
      'tessera: an imported client_secret must be at least 32 characters or a UUID\n',
    );
    const badDatabase = await runCli(['clients', 'list', '--database', 'mysql://x']);
    assert.equal(badDatabase.status, 1);
    assert.equal(
      badDatabase.stderr,
      'tessera: --database mysql://x: expected sqlite:PATH or postgres://…\n',
    );
  });

  it('lists keys once a server has started on the database', async () => {
    const none = await runCli(['keys', 'list', '--json', '--database', database]);
    assert.deepEqual(JSON.parse(none.stdout), []);
    const server = await startTessera({ dataDir: dir, database });
    await server.close();
    const keys = JSON.parse(
      (await runCli(['keys', 'list', '--json', '--database', database])).stdout,
    );
    assert.equal(keys.length, 1);
    assert.equal(keys[0].alg, 'RS256');
    assert.equal(keys[0].state, 'active');
    const table = await runCli(['keys', 'list', '--database', database]);
    assert.match(table.stdout, /^KID +ALG +STATE/);
    const kekFile = await stat(join(dir, 'kek.key'));
    assert.equal(kekFile.mode & 0o777, 0o600);
    const raw = await readFile(join(dir, 'tessera.db'));
    assert.ok(
      !raw.includes('BEGIN PRIVATE KEY') && !raw.includes('"d":'),
      'no plaintext private key at rest',
    );
  });

  it('a running server sees a client created and disabled by the CLI on its next request', async () => {
    const serverDir = await mkdtemp(join(tmpdir(), 'tessera-cli-live-'));
    const server = await startTessera({ dataDir: serverDir });
    try {
      const created = JSON.parse(
        (
          await runCli([
            'clients',
            'create',
            '--name',
            'Live',
            '--json',
            '--database',
            server.database,
          ])
        ).stdout,
      );
      const auth = { authorization: basicAuthorization(created.client_id, created.client_secret) };
      const first = await postForm(
        `${server.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        auth,
      );
      assert.equal(first.status, 200, first.text);
      await runCli(['clients', 'disable', created.client_id, '--database', server.database]);
      const second = await postForm(
        `${server.url}/oauth/token`,
        { grant_type: 'client_credentials' },
        auth,
      );
      assert.equal(second.status, 401);
      await runCli(['clients', 'enable', created.client_id, '--database', server.database]);
      assert.equal(
        (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, auth))
          .status,
        200,
      );
      await runCli(['clients', 'delete', created.client_id, '--database', server.database]);
      assert.equal(
        (await postForm(`${server.url}/oauth/token`, { grant_type: 'client_credentials' }, auth))
          .status,
        401,
      );
    } finally {
      await server.close();
      await rm(serverDir, { recursive: true, force: true });
    }
  });

  it('a created client survives kill -9 right after the CLI returns', async () => {
    const crashDir = await mkdtemp(join(tmpdir(), 'tessera-crash-'));
    const crashDb = `sqlite:${join(crashDir, 'tessera.db')}`;
    try {
      // A server process holds the database open; it is killed with SIGKILL right after the
      // CLI acknowledges the write, so nothing gets a chance to checkpoint or close cleanly.
      const child = spawn(
        process.execPath,
        [tesseraBin, 'serve', '--port', '0', '--database', crashDb],
        {
          env: { PATH: process.env.PATH, TESSERA_LOG_LEVEL: 'warn' },
          stdio: 'ignore',
        },
      );
      await waitFor(async () =>
        (await runCli(['keys', 'list', '--json', '--database', crashDb])).stdout.includes('RS256'),
      );
      const created = JSON.parse(
        (await runCli(['clients', 'create', '--name', 'Durable', '--json', '--database', crashDb]))
          .stdout,
      );
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
      const server = await startTessera({ dataDir: crashDir, database: crashDb });
      try {
        const result = await postForm(
          `${server.url}/oauth/token`,
          { grant_type: 'client_credentials' },
          { authorization: basicAuthorization(created.client_id, created.client_secret) },
        );
        assert.equal(result.status, 200, result.text);
      } finally {
        await server.close();
      }
    } finally {
      await rm(crashDir, { recursive: true, force: true });
    }
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('condition not met in time');
}
