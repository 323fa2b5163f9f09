import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { basicAuthorization, postForm, startTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

/** A 2 MiB tmpfs the test fills up itself; needs root (CI runs as root). */
function smallFileSystem(): { dir: string; release: () => void } | string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const reason = `cannot mount a small tmpfs here (${(error as Error).message.split('\n')[0]})`;
    console.log(`# skipping: ${reason}`);
    return reason;
  }
  return {
    dir,
    release: () => {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the file system to the last byte with one file, which is returned for removal. */
function fill(dir: string): string {
  const filler = join(dir, 'filler');
  const chunk = Buffer.alloc(4096, 1);
  let written = 0;
  try {
    for (;;) {
      writeFileSync(filler, chunk, { flag: 'a' });
      written += chunk.length;
    }
  } catch {
    // ENOSPC: full.
  }
  assert.ok(written > 0);
  return filler;
}

describe('full disk', () => {
  const fs = smallFileSystem();
  it(
    'keeps issuing tokens, refuses writes with a 503 that says why, and loses nothing',
    { skip: typeof fs === 'string' ? fs : false },
    async () => {
      if (typeof fs === 'string') return;
      const tessera = await startTessera({ dataDir: fs.dir });
      try {
        const client = await tessera.createClient({ scope: 'read' });
        const admin = await tessera.createClient({ scope: 'tessera:admin' });
        const adminToken = await getToken(tessera.url, admin);
        const acknowledged = await tessera.createClient({
          name: 'acknowledged before the disk filled',
        });
        const token = await getToken(tessera.url, client);

        const filler = fill(fs.dir);
        // Token issuance for known clients reads nothing and writes nothing.
        for (let i = 0; i < 20; i++)
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

        const create = await fetch(`${tessera.url}/admin/v1/clients`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'refused', scope: 'x'.repeat(2000) }),
        });
        assert.equal(create.status, 503);
        assert.deepEqual(await create.json(), {
          error: 'temporarily_unavailable',
          error_description: 'The database refuses writes (disk full); try again later',
        });
        const revoke = await postForm(
          `${tessera.url}/oauth/revoke`,
          { token },
          { authorization: basicAuthorization(client.clientId, client.clientSecret) },
        );
        assert.equal(revoke.status, 503);
        assert.equal(revoke.headers.get('retry-after'), '30');
        // Issue 16: the answer matches what was committed: a 503 revoked nothing.
        assert.deepEqual(await tessera.server.context.store.listRevocations(0), []);
        assert.equal(tessera.server.context.revocations.size, 0);
        const ready = await (await fetch(`${tessera.url}/readyz`)).json();
        assert.deepEqual(ready, {
          status: 'degraded',
          checks: { store: 'ok', signing_key: 'ok', store_writes: 'refused: disk full' },
        });

        unlinkSync(filler);
        const again = await postForm(
          `${tessera.url}/oauth/revoke`,
          { token },
          { authorization: basicAuthorization(client.clientId, client.clientSecret) },
        );
        assert.equal(again.status, 200, 'writes work again once space returns');
        assert.equal(
          ((await (await fetch(`${tessera.url}/readyz`)).json()) as { status: string }).status,
          'ready',
        );
        assert.ok(
          await tessera.registry.get(acknowledged.clientId),
          'what was acknowledged before is intact',
        );
        const integrity = await tessera.server.context.store.listClients();
        assert.equal(integrity.length, 3);
      } finally {
        await tessera.close();
        fs.release();
      }
    },
  );
});
