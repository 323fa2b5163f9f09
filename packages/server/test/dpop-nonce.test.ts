/**
 * RFC 9449 §8 DPoP server nonces (`--dpop-nonce`, issue 25): the `use_dpop_nonce` error with
 * a `DPoP-Nonce` header, nonces that rotate, and one nonce good at both workers of
 * `serve --workers 2` and at another instance sharing the KEK.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { DpopNonces } from '../src/dpop/dpop-nonce.js';
import { runCli } from './support/cli.js';
import { workersListening } from './support/deployment.js';
import { newKek, startTesseraProcess, within, type TesseraProcess } from './support/instances.js';
import { postFrom } from './support/source-address.js';
import { basicAuthorization, startTessera } from './support/tessera.js';
import { createTokenClient } from '@tessera/client';
import { jwtPayload } from './support/https.js';

const issuer = 'http://tessera.test';
const useNonce = {
  error: 'use_dpop_nonce',
  error_description: 'Authorization server requires nonce in DPoP proof',
};

/** One token request on a new connection (postFrom's), so the primary hands it to the next worker. */
async function tokenRequest(url: string, headers: Record<string, string>) {
  const form = { grant_type: 'client_credentials' };
  const answer = await postFrom('127.0.0.1', `${url}/oauth/token`, form, headers);
  return { ...answer, nonce: answer.headers['dpop-nonce'] as string | undefined };
}

describe('DPoP server nonces (RFC 9449 §8)', () => {
  it('rotate every window and are accepted in that window and the next only', () => {
    let now = 1_000_000;
    const key = Buffer.alloc(32, 7);
    const nonces = new DpopNonces([key], () => now, 60);
    const first = nonces.current();
    assert.equal(nonces.valid(first), true);
    now += 60;
    const second = nonces.current();
    assert.notEqual(second, first);
    assert.equal(nonces.valid(first), true);
    now += 60;
    assert.equal(nonces.valid(first), false);
    assert.equal(nonces.valid(second), true);
    // Another process with the same key agrees; one with another key does not.
    assert.equal(new DpopNonces([key], () => now, 60).valid(second), true);
    assert.equal(new DpopNonces([Buffer.alloc(32, 8)], () => now, 60).valid(second), false);
    // During a KEK rotation, nonces of the previous key still pass.
    assert.equal(new DpopNonces([Buffer.alloc(32, 8), key], () => now, 60).valid(second), true);
    for (const forged of [undefined, '', 'abc', `${second}x`, second.replace(/.$/, 'A'), 42])
      assert.equal(nonces.valid(forged), false, String(forged));
  });

  it('is answered by @tessera/client, which signs again once with the nonce', async () => {
    const tessera = await startTessera({ dpopNonce: true });
    try {
      const { clientId, clientSecret } = await tessera.createClient();
      const dpop = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
        'sign',
        'verify',
      ]);
      const client = createTokenClient({ issuer: tessera.issuer, clientId, clientSecret, dpop });
      const token = await client.getToken();
      assert.equal(typeof (jwtPayload(token).cnf as { jkt?: unknown }).jkt, 'string');
    } finally {
      await tessera.close();
    }
  });

  describe('across the workers of serve --workers 2 and another instance', () => {
    let dataDir: string;
    let primary: TesseraProcess;
    let other: TesseraProcess;
    let client: { client_id: string; client_secret: string };
    let dpopKey: CryptoKey;
    let dpopJwk: JWK;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'tessera-dpop-nonce-'));
      const env = { TESSERA_DATA_DIR: dataDir, TESSERA_KEK: newKek() };
      const created = await runCli(['clients', 'create', '--name', 'dpop', '--json'], env);
      assert.equal(created.status, 0, created.stderr);
      client = JSON.parse(created.stdout) as typeof client;
      const pair = await generateKeyPair('ES256', { extractable: true });
      dpopKey = pair.privateKey;
      dpopJwk = await exportJWK(pair.publicKey);
      const database = `sqlite:${join(dataDir, 'tessera.db')}`;
      const serveEnv = { ...env, TESSERA_ISSUER: issuer, TESSERA_DPOP_NONCE: 'true' };
      [primary, other] = await Promise.all([
        startTesseraProcess(database, { ...serveEnv, TESSERA_WORKERS: '2' }),
        startTesseraProcess(database, { ...serveEnv, TESSERA_WORKERS: '1' }),
      ]);
      await workersListening(primary, 2);
    });
    after(async () => {
      await Promise.all([primary?.stop(), other?.stop()]);
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    const proof = (nonce?: string) =>
      new SignJWT({
        jti: randomUUID(),
        htm: 'POST',
        htu: `${issuer}/oauth/token`,
        iat: Math.floor(Date.now() / 1000),
        ...(nonce === undefined ? {} : { nonce }),
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: dpopJwk })
        .sign(dpopKey);
    const token = async (url: string, nonce?: string) =>
      tokenRequest(url, {
        authorization: basicAuthorization(client.client_id, client.client_secret),
        dpop: await proof(nonce),
      });

    it('asks for a nonce with use_dpop_nonce and a DPoP-Nonce header', async () => {
      const answer = await token(primary.url);
      assert.equal(answer.status, 400);
      assert.deepEqual(answer.body, useNonce);
      assert.match(answer.nonce ?? '', /^[0-9a-z]+\.[A-Za-z0-9_-]{32}$/);
      const forged = await token(primary.url, `${answer.nonce!.split('.')[0]}.${'A'.repeat(32)}`);
      assert.equal(forged.status, 400);
      assert.deepEqual(forged.body, useNonce);
    });

    it('accepts one nonce at both workers and at the other instance', async () => {
      const { nonce } = await token(primary.url);
      assert.ok(nonce);
      for (let i = 0; i < 4; i += 1) {
        const answer = await token(primary.url, nonce);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        assert.equal((answer.body as { token_type: string }).token_type, 'DPoP');
        // RFC 9449 §8.2: every DPoP answer carries the nonce for the next proof.
        assert.ok(answer.nonce);
      }
      const elsewhere = await token(other.url, nonce);
      assert.equal(elsewhere.status, 200, JSON.stringify(elsewhere.body));
      const back = await token(primary.url, elsewhere.nonce);
      assert.equal(back.status, 200, JSON.stringify(back.body));
      // Both workers answered (connections alternate between them). Request lines are
      // read from the pipe as they arrive, after the answers.
      const answeringPids = () =>
        new Set(
          primary
            .output()
            .split('\n')
            .filter((line) => line.includes('"statusCode":200'))
            .map((line) => (JSON.parse(line) as { pid: number }).pid),
        );
      await within(5_000, async () => answeringPids().size === 2);
      assert.equal(answeringPids().size, 2, primary.output().slice(-3000));
    });

    it('still needs no nonce from secret requests without DPoP', async () => {
      const answer = await tokenRequest(primary.url, {
        authorization: basicAuthorization(client.client_id, client.client_secret),
      });
      assert.equal(answer.status, 200);
      assert.equal(answer.nonce, undefined);
    });
  });
});
