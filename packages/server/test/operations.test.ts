import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request as httpRequest, createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { runCli } from './support/cli.js';
import { spawnServe } from './support/serve-process.js';
import { basicAuthorization, postForm, startTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tessera-ops-'));
  dirs.push(dir);
  return dir;
}
after(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('backup and restore', () => {
  it('round-trips clients, keys and revocations through an online backup', async () => {
    const kek = randomBytes(32).toString('base64');
    const source = await startTessera({ env: { TESSERA_KEK: kek } });
    const backupDir = await tempDir();
    const backupFile = join(backupDir, 'tessera-backup.db');
    try {
      const client = await source.createClient({ scope: 'read' });
      const introspector = await source.createClient({ scope: 'tessera:introspect' });
      const kept = await getToken(source.url, client);
      const revoked = await getToken(source.url, client);
      await postForm(
        `${source.url}/oauth/revoke`,
        { token: revoked },
        { authorization: basicAuthorization(client.clientId, client.clientSecret) },
      );
      const jwks = await (await fetch(`${source.url}/.well-known/jwks.json`)).json();

      const backup = await runCli(
        ['backup', '--out', backupFile, '--json', '--database', source.database],
        { TESSERA_KEK: kek },
      );
      assert.equal(backup.status, 0, backup.stderr);
      assert.deepEqual(JSON.parse(backup.stdout), {
        file: backupFile,
        clients: 2,
        keys: 1,
        revocations: 1,
      });
      const bytes = await readFile(backupFile);
      assert.ok(!bytes.includes(client.clientSecret), 'no secret in the backup');
      assert.ok(!bytes.includes('PRIVATE KEY'), 'no plaintext key in the backup');

      const targetDir = await tempDir();
      const targetDb = `sqlite:${join(targetDir, 'tessera.db')}`;
      const restored = await runCli(['restore', backupFile, '--json', '--database', targetDb], {
        TESSERA_KEK: kek,
      });
      assert.equal(restored.status, 0, restored.stderr);
      const again = await runCli(['restore', backupFile, '--database', targetDb], {
        TESSERA_KEK: kek,
      });
      assert.equal(again.status, 1);
      assert.match(again.stderr, /exists; stop every server using it and pass --force/);

      const target = await startTessera({
        dataDir: targetDir,
        database: targetDb,
        env: { TESSERA_KEK: kek },
      });
      try {
        assert.equal(
          (
            await postForm(
              `${target.url}/oauth/token`,
              { grant_type: 'client_credentials' },
              { authorization: basicAuthorization(client.clientId, client.clientSecret) },
            )
          ).status,
          200,
        );
        assert.deepEqual(await (await fetch(`${target.url}/.well-known/jwks.json`)).json(), jwks);
        await jwtVerify(kept, createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]), {
          typ: 'at+jwt',
        });
        const introspect = (token: string) =>
          postForm(
            `${target.url}/oauth/introspect`,
            { token },
            { authorization: basicAuthorization(introspector.clientId, introspector.clientSecret) },
          );
        // The restored server has another issuer (port), so introspect checks what survives: the revocation list.
        assert.ok(target.server.context.revocations.size === 1);
        assert.equal((await introspect(revoked)).status, 200);
      } finally {
        await target.close();
      }
    } finally {
      await source.close();
    }
  });

  it('refuses a file that is not a Tessera backup', async () => {
    const dir = await tempDir();
    const bogus = join(dir, 'bogus.db');
    await import('node:fs/promises').then((fs) => fs.writeFile(bogus, 'not a database'));
    const result = await runCli(['restore', bogus, '--database', `sqlite:${join(dir, 't.db')}`]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /is not a readable Tessera backup/);
  });
});

describe('key-encryption key rotation', () => {
  it('re-seals every key under a new KEK while the server runs, then destroys the old one', async () => {
    const dir = await tempDir();
    const tessera = await startTessera({ dataDir: dir });
    try {
      const client = await tessera.createClient();
      const before = (await readFile(join(dir, 'kek.key'), 'utf8')).trim().split('\n');
      assert.equal(before.length, 1);

      const rotated = await runCli(['kek', 'rotate', '--json', '--database', tessera.database]);
      assert.equal(rotated.status, 0, rotated.stderr);
      const result = JSON.parse(rotated.stdout);
      assert.equal(result.resealed_keys, 1);
      assert.equal(result.resealed_settings, 1);
      const during = (await readFile(join(dir, 'kek.key'), 'utf8')).trim().split('\n');
      assert.deepEqual(during.slice(1), before, 'the old key stays until prune');

      // A signing-key rotation makes the running server open a key sealed under the new KEK.
      assert.equal(
        (await runCli(['keys', 'rotate', '--propagation', '0', '--database', tessera.database]))
          .status,
        0,
      );
      await tessera.server.context.syncChanges();
      assert.equal(tessera.server.context.keys.records.length, 2);
      assert.equal(
        (
          await postForm(
            `${tessera.url}/oauth/token`,
            { grant_type: 'client_credentials' },
            { authorization: basicAuthorization(client.clientId, client.clientSecret) },
          )
        ).status,
        200,
      );

      const pruned = await runCli(['kek', 'prune', '--json', '--database', tessera.database]);
      assert.equal(pruned.status, 0, pruned.stderr);
      assert.deepEqual(JSON.parse(pruned.stdout), { kek_id: result.kek_id, destroyed: 1 });
      const afterPrune = (await readFile(join(dir, 'kek.key'), 'utf8')).trim().split('\n');
      assert.deepEqual(afterPrune, during.slice(0, 1));
      await tessera.server.close();

      const restarted = await startTessera({ dataDir: dir });
      try {
        const status = (
          await postForm(
            `${restarted.url}/oauth/token`,
            { grant_type: 'client_credentials' },
            { authorization: basicAuthorization(client.clientId, client.clientSecret) },
          )
        ).status;
        assert.equal(status, 200, 'secrets and keys open under the new KEK alone');
      } finally {
        await restarted.close();
      }
    } finally {
      await tessera.close();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes requests in flight on SIGTERM and exits 0', async () => {
    const dir = await tempDir();
    const database = `sqlite:${join(dir, 'tessera.db')}`;
    const created = JSON.parse(
      (await runCli(['clients', 'create', '--name', 'drain', '--json', '--database', database]))
        .stdout,
    );
    const { child, port } = await spawnServer(database, []);
    const auth = basicAuthorization(created.client_id, created.client_secret);
    const results = Array.from({ length: 60 }, () => rawToken(port, auth));
    await new Promise((resolve) => setTimeout(resolve, 5));
    child.kill('SIGTERM');
    const statuses = await Promise.all(results);
    const exit = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(exit, 0);
    const served = statuses.filter((status) => status === 200).length;
    const refused = statuses.filter((status) => status === 'refused').length;
    assert.equal(
      served + refused,
      statuses.length,
      `every request either completed or was never accepted: ${statuses.join(',')}`,
    );
    assert.ok(served > 0);
  });

  it('a rolling restart of two instances behind a balancer fails zero token requests', async () => {
    const dir = await tempDir();
    const database = `sqlite:${join(dir, 'tessera.db')}`;
    const created = JSON.parse(
      (await runCli(['clients', 'create', '--name', 'rolling', '--json', '--database', database]))
        .stdout,
    );
    const auth = basicAuthorization(created.client_id, created.client_secret);
    const instances = [await spawnServer(database, []), await spawnServer(database, [])];
    const ports = instances.map((instance) => instance.port);
    const balancer = await startBalancer(ports);
    let stop = false;
    const statuses: Array<number | string> = [];
    const loops = Array.from({ length: 4 }, async () => {
      while (!stop) statuses.push(await rawToken(balancer.port, auth));
    });
    try {
      for (let i = 0; i < instances.length; i++) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        const old = instances[i]!;
        old.child.kill('SIGTERM');
        await new Promise((resolve) => old.child.once('exit', resolve));
        instances[i] = await spawnServer(database, ['--port', String(old.port)]);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      stop = true;
      await Promise.all(loops);
      balancer.server.close();
      for (const instance of instances) instance.child.kill('SIGTERM');
    }
    const failures = statuses.filter((status) => status !== 200);
    console.log(`# rolling restart: ${statuses.length} token requests, ${failures.length} failed`);
    assert.deepEqual(failures, []);
    assert.ok(statuses.length > 50);
  });
});

function spawnServer(
  database: string,
  extra: string[],
): Promise<{ child: ChildProcess; port: number }> {
  return spawnServe([...extra, '--database', database], { PATH: process.env.PATH });
}

/** POST /oauth/token on a fresh connection: the status, or 'refused' when nothing accepted it. */
function rawToken(port: number, authorization: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        path: '/oauth/token',
        method: 'POST',
        agent: false,
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ECONNREFUSED' ? 'refused' : `error:${error.code}`),
    );
    req.end('grant_type=client_credentials');
  });
}

/** A minimal load balancer: round robin, and the next backend when one refuses the connection. */
async function startBalancer(ports: number[]): Promise<{ server: Server; port: number }> {
  let next = 0;
  // Like a real balancer's health check: every 100 ms, only backends whose /readyz answers 200
  // take new requests (a draining Tessera answers 503 for a second before it stops accepting).
  const healthy = new Set(ports);
  const probe = setInterval(() => {
    for (const port of ports) {
      const check = httpRequest(
        { host: '127.0.0.1', port, path: '/readyz', agent: false, timeout: 500 },
        (response) => {
          response.resume();
          if (response.statusCode === 200) healthy.add(port);
          else healthy.delete(port);
        },
      );
      check.on('error', () => healthy.delete(port));
      check.on('timeout', () => check.destroy());
      check.end();
    }
  }, 100);
  const pick = () => {
    const candidates = ports.filter((port) => healthy.has(port));
    const pool = candidates.length > 0 ? candidates : ports;
    return pool[next++ % pool.length]!;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const attempt = (tries: number) => {
        const port = pick();
        const upstream = httpRequest(
          {
            host: '127.0.0.1',
            port,
            path: req.url,
            method: req.method,
            headers: req.headers,
            agent: false,
          },
          (response) => {
            res.writeHead(response.statusCode ?? 502, response.headers);
            response.pipe(res);
          },
        );
        // Like a real balancer, only a refused connection moves on to the next backend.
        upstream.on('error', (error: NodeJS.ErrnoException) =>
          error.code === 'ECONNREFUSED' && tries > 0
            ? attempt(tries - 1)
            : (res.writeHead(502), res.end()),
        );
        upstream.end(body);
      };
      attempt(ports.length * 2);
    });
  });
  server.on('close', () => clearInterval(probe));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}
