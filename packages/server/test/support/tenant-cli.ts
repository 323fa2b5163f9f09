/**
 * Issue 21: tenants created, changed and deleted through the CLI while servers run, over
 * SQLite (tenants.test.ts) and PostgreSQL (postgres-tenants.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { newKek, startTesseraProcess, within, type TesseraProcess } from './instances.js';
import { cli, send, tokenAt } from './tenants.js';

/** `tessera tenants …` and `clients … --tenant` against a running server's database. */
export function cliPickupSuite(
  label: string,
  database: () => Promise<{ url: string; dispose: () => Promise<void> }>,
  skip?: string,
): void {
  describe(`tenants changed through the CLI, seen by running servers (${label})`, { skip }, () => {
    let dispose: () => Promise<void>;
    let url: string;
    const env: NodeJS.ProcessEnv = { TESSERA_KEK: newKek() };
    const servers: TesseraProcess[] = [];
    before(async () => {
      const db = await database();
      dispose = db.dispose;
      url = db.url;
      // Two instances on one database; under SQLite the first one has two workers.
      servers.push(await startTesseraProcess(url, { ...env, TESSERA_WORKERS: '2' }));
      servers.push(await startTesseraProcess(url, { ...env, TESSERA_WORKERS: '1' }));
    });
    after(async () => {
      for (const server of servers) await server.stop();
      await dispose?.();
    });

    const run = async (...args: string[]) => {
      const result = await cli([...args, '--database', url], env);
      assert.equal(result.status, 0, result.stderr);
      return result.stdout;
    };
    /**
     * Every server (several requests each: several workers) answers `check` within one
     * second of the CLI command's return, one deadline for all.
     */
    const everywhere = async (check: (base: string) => Promise<boolean>) => {
      const deadline = Date.now() + 1_000;
      for (const server of servers)
        for (let i = 0; i < 4; i += 1)
          assert.ok(
            await within(Math.max(0, deadline - Date.now()), () => check(server.url)),
            `not seen at ${server.url} within a second`,
          );
    };
    it('picks up a created tenant, its clients, an update and a deletion within a second', async () => {
      const discovery = (base: string) => send(`${base}/t/acme/.well-known/openid-configuration`);
      for (const server of servers) assert.equal((await discovery(server.url)).status, 404);
      await run('tenants', 'create', 'acme', '--token-ttl', '120');
      // The server's issuer names localhost for a loopback listener: tenant issuers follow it.
      const issuerOf = async (base: string) =>
        (await send(`${base}/.well-known/openid-configuration`)).json.issuer as string;
      await everywhere(
        async (base) => (await discovery(base)).json.issuer === `${await issuerOf(base)}/t/acme`,
      );

      const created = JSON.parse(
        await run('clients', 'create', '--name', 'acme app', '--tenant', 'acme', '--json'),
      ) as { client_id: string; client_secret: string };
      const client = { clientId: created.client_id, clientSecret: created.client_secret };
      await everywhere(async (base) => {
        const answer = await tokenAt(`${base}/t/acme/oauth/token`, client);
        return answer.status === 200 && answer.json.expires_in === 120;
      });
      // Not a client of the default tenant.
      for (const server of servers)
        assert.equal((await tokenAt(`${server.url}/oauth/token`, client)).status, 401);

      await run(
        'tenants',
        'update',
        'acme',
        '--issuer',
        'https://acme.example',
        '--token-ttl',
        '60',
      );
      await everywhere(async (base) => {
        const doc = (await discovery(base)).json;
        const answer = await tokenAt(`${base}/t/acme/oauth/token`, client);
        return doc.issuer === 'https://acme.example' && answer.json.expires_in === 60;
      });

      const refused = await cli(['tenants', 'delete', 'acme', '--database', url], env);
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /still has clients/);
      await run('tenants', 'delete', 'acme', '--force');
      // Every worker of every server: its discovery and its token endpoint (the fast path).
      await everywhere(
        async (base) =>
          (await discovery(base)).status === 404 &&
          (await tokenAt(`${base}/t/acme/oauth/token`, client)).status === 404,
      );
      for (const server of servers)
        assert.equal((await tokenAt(`${server.url}/t/acme/oauth/token`, client)).status, 404);
    });

    it('refuses an unknown tenant on client, key and audit commands', async () => {
      for (const args of [
        ['clients', 'list', '--tenant', 'ghost'],
        ['keys', 'list', '--tenant', 'ghost'],
        ['audit', 'list', '--tenant', 'ghost'],
      ]) {
        const result = await cli([...args, '--database', url], env);
        assert.equal(result.status, 1, args.join(' '));
        assert.equal(result.stderr, 'tessera: no tenant named "ghost"\n');
      }
    });
  });
}
