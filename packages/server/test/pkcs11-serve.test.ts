import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { runCli } from './support/cli.js';
import { spawnServe } from './support/serve-process.js';
import { createSoftHsmToken, softhsmSkipReason, type SoftHsmToken } from './support/softhsm.js';
import { postForm, basicAuthorization } from './support/tessera.js';
import { getToken } from './support/tokens.js';

const skip = softhsmSkipReason('tessera serve with PKCS#11 keys');

/** A real `tessera serve` process signing in a fresh SoftHSM2 token. */
describe('tessera serve with keys in a PKCS#11 token (SoftHSM2)', { skip }, () => {
  let token: SoftHsmToken;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let server: { child: ChildProcess; port: number };
  let url: string;
  let client: { clientId: string; clientSecret: string };

  before(async () => {
    token = createSoftHsmToken(`tessera-serve-${process.pid}`);
    dataDir = mkdtempSync(join(tmpdir(), 'tessera-pkcs11-serve-'));
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TESSERA_DATA_DIR: dataDir,
      TESSERA_JWKS_MAX_AGE: '1',
      ...token.env,
    };
    const created = await runCli(['clients', 'create', '--name', 'hsm', '--json'], env);
    assert.equal(created.status, 0, created.stderr);
    const body = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    client = { clientId: body.client_id, clientSecret: body.client_secret };
    server = await spawnServe([], env);
    url = `http://127.0.0.1:${server.port}`;
  });
  after(async () => {
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('exit', resolve));
    }
    token?.remove();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('issues tokens signed inside the token that jose verifies against /jwks', async () => {
    const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`));
    const access = await getToken(url, client);
    const { payload, protectedHeader } = await jwtVerify(access, jwks, { typ: 'at+jwt' });
    assert.equal(protectedHeader.alg, 'RS256');
    assert.equal(payload.client_id, client.clientId);
    const listed = await runCli(['keys', 'list', '--json'], env);
    assert.equal(listed.status, 0, listed.stderr);
    const keys = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
    assert.equal(keys.length, 1);
    assert.equal(keys[0]!.kid, protectedHeader.kid);
    assert.equal(keys[0]!.store, 'pkcs11');
    assert.equal(keys[0]!.token_label, token.label);
    const table = await runCli(['keys', 'list'], env);
    assert.match(table.stdout, /^KID +ALG +STATE +STORE +TOKEN_LABEL/);
    assert.match(table.stdout, new RegExp(`RS256 +active +pkcs11 +${token.label}`));
  });

  it('loses not one verification while `tessera keys rotate` adds keys in the token under load', async () => {
    // A verifier that honours the JWKS max-age and never refetches on an unknown kid: only
    // publication before use keeps it from failing.
    const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`), {
      cacheMaxAge: 1000,
      cooldownDuration: 3_600_000,
    });
    const kids = new Set<string>();
    const failures: string[] = [];
    let verified = 0;
    let rotations = 0;
    const deadline = Date.now() + 10_000;
    const rotator = (async () => {
      while (Date.now() < deadline - 3000) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const rotated = await runCli(['keys', 'rotate', '--propagation', '1', '--json'], env);
        assert.equal(rotated.status, 0, rotated.stderr);
        const key = JSON.parse(rotated.stdout) as { store: string; token_label: string };
        assert.deepEqual([key.store, key.token_label], ['pkcs11', token.label]);
        rotations += 1;
      }
    })();
    const load = Array.from({ length: 4 }, async () => {
      while (Date.now() < deadline) {
        const access = await getToken(url, client);
        try {
          const { protectedHeader } = await jwtVerify(access, jwks, { typ: 'at+jwt' });
          kids.add(protectedHeader.kid!);
          verified += 1;
        } catch (error) {
          failures.push(`${(error as Error).name}: ${(error as Error).message}`);
        }
      }
    });
    await Promise.all([rotator, ...load]);
    assert.deepEqual(failures, []);
    assert.ok(rotations >= 2, `rotated ${rotations} times`);
    assert.ok(kids.size >= 2, `tokens were signed by ${kids.size} keys`);
    assert.ok(verified > 50, `verified ${verified} tokens`);
  });

  it('answers 503 while the token is gone and serves again once it is back', async () => {
    const request = () =>
      postForm(
        `${url}/oauth/token`,
        { grant_type: 'client_credentials' },
        { authorization: basicAuthorization(client.clientId, client.clientSecret) },
      );
    const ready = async () => (await fetch(`${url}/readyz`)).status;
    assert.equal(await ready(), 200);
    const [tokenFiles] = readdirSync(token.tokenDir);
    const stored = join(token.tokenDir, tokenFiles!);
    const away = join(token.dir, 'away');
    renameSync(stored, away);
    try {
      const lostAt = Date.now();
      while ((await ready()) !== 503) {
        assert.ok(Date.now() - lostAt < 10_000, '/readyz answers 503 within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const readiness = (await (await fetch(`${url}/readyz`)).json()) as {
        checks: Record<string, string>;
      };
      assert.equal(readiness.checks.signing_key, 'unavailable');
      const refused = await request();
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('cache-control'), 'no-store');
      assert.equal(refused.headers.get('retry-after'), '5');
      assert.deepEqual(refused.body, {
        error: 'temporarily_unavailable',
        error_description: 'The signing keys are unavailable; retry shortly',
      });
    } finally {
      renameSync(away, stored);
    }
    const backAt = Date.now();
    while ((await ready()) !== 200) {
      assert.ok(Date.now() - backAt < 30_000, 'ready again within 30 s of the token returning');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const jwks = createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`));
    await jwtVerify(await getToken(url, client), jwks);
  });

  it('stops serve with a message naming TESSERA_PKCS11_PIN when the PIN is wrong', async () => {
    const result = await runCli(['serve', '--port', '0', '--workers', '1'], {
      ...env,
      TESSERA_PKCS11_PIN: 'not-the-pin-31337',
    });
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      new RegExp(
        `PKCS#11 token "${token.label}" rejected the PIN \\(CKR_PIN_INCORRECT\\): check TESSERA_PKCS11_PIN`,
      ),
    );
    assert.ok(!result.stderr.includes('not-the-pin-31337'), 'the PIN is not in the message');
  });

  it('refuses --signing-keys pkcs11 without a module and token label', async () => {
    const result = await runCli(['keys', 'rotate', '--signing-keys', 'pkcs11'], {
      PATH: process.env.PATH,
      TESSERA_DATA_DIR: dataDir,
    });
    assert.equal(result.status, 1);
    assert.match(
      result.stderr,
      /--signing-keys pkcs11\) needs TESSERA_PKCS11_MODULE \(--pkcs11-module\) and TESSERA_PKCS11_TOKEN_LABEL \(--pkcs11-token-label\)/,
    );
  });

  it('signs with the header Tessera always sends', async () => {
    const header = decodeProtectedHeader(await getToken(url, client));
    assert.deepEqual(Object.keys(header).sort(), ['alg', 'kid', 'typ']);
  });

  for (const alg of ['PS256', 'ES256', 'EdDSA'] as const) {
    it(`serves ${alg} tokens from a key in the token that jose verifies against /jwks`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `tessera-pkcs11-${alg.toLowerCase()}-`));
      const algEnv = { ...env, TESSERA_DATA_DIR: dir, TESSERA_SIGNING_ALG: alg };
      const other = await spawnServe([], algEnv);
      try {
        const created = await runCli(['clients', 'create', '--name', alg, '--json'], algEnv);
        const body = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
        const base = `http://127.0.0.1:${other.port}`;
        const access = await getToken(base, {
          clientId: body.client_id,
          clientSecret: body.client_secret,
        });
        const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`));
        const { protectedHeader } = await jwtVerify(access, jwks, { algorithms: [alg] });
        assert.equal(protectedHeader.alg, alg);
        const keys = JSON.parse(
          (await runCli(['keys', 'list', '--json'], algEnv)).stdout,
        ) as Array<{
          alg: string;
          store: string;
        }>;
        assert.deepEqual(
          keys.map((key) => [key.alg, key.store]),
          [[alg, 'pkcs11']],
        );
      } finally {
        other.child.kill('SIGTERM');
        await new Promise((resolve) => other.child.once('exit', resolve));
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
