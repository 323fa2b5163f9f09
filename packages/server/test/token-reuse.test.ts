/**
 * Reuse of a still-fresh token (issue 22) over real HTTP with an injected clock: the same token
 * with a decreasing expires_in while at least half its lifetime is left, a new one after; never
 * a revoked one; another scope or another DPoP key gets its own; reused tokens count against a
 * quota.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { basicAuthorization, postForm, startTessera, type TestTessera } from './support/tessera.js';
import { TokenReuse } from '../src/tokens/token-reuse.js';

interface Answer {
  status: number;
  body: { access_token: string; expires_in: number; token_type: string; scope?: string };
}

const ask = async (
  tessera: TestTessera,
  client: { clientId: string; clientSecret: string },
  extra: Record<string, string> = {},
  headers: Record<string, string> = {},
): Promise<Answer> => {
  const answer = await postForm(
    `${tessera.url}/oauth/token`,
    { grant_type: 'client_credentials', ...extra },
    { authorization: basicAuthorization(client.clientId, client.clientSecret), ...headers },
  );
  return answer as unknown as Answer;
};

async function start(options: { reuseTokens?: boolean } = {}) {
  const clock = { now: Math.floor(Date.now() / 1000) };
  const tessera = await startTessera({ nowSeconds: () => clock.now, ...options });
  return { clock, tessera };
}

describe('token reuse', () => {
  it('keys a token by client, scope, audience, token type and both binding thumbprints', () => {
    const claims = {
      ...{ iss: 'i', sub: 'c', aud: 'https://api', exp: 20, iat: 10, jti: 'j', client_id: 'c' },
      scope: 'read',
    };
    const base = TokenReuse.key('c', claims, 'Bearer');
    const keys = [
      TokenReuse.key('d', claims, 'Bearer'),
      TokenReuse.key('c', { ...claims, scope: 'write' }, 'Bearer'),
      TokenReuse.key('c', { ...claims, aud: ['https://api', 'https://other'] }, 'Bearer'),
      TokenReuse.key('c', { ...claims, cnf: { jkt: 'k1' } }, 'DPoP'),
      TokenReuse.key('c', { ...claims, cnf: { jkt: 'k2' } }, 'DPoP'),
      TokenReuse.key('c', { ...claims, cnf: { 'x5t#S256': 'cert1' } }, 'Bearer'),
      TokenReuse.key('c', { ...claims, cnf: { 'x5t#S256': 'cert2' } }, 'Bearer'),
    ];
    assert.equal(new Set([base, ...keys]).size, keys.length + 1);
    const reuse = new TokenReuse(2);
    reuse.remember(keys[5]!, 'token-for-cert1', { ...claims, exp: 20, iat: 10 }, 1);
    assert.deepEqual(
      reuse.find(keys[5]!, 14, 1, () => false),
      {
        accessToken: 'token-for-cert1',
        expiresIn: 6,
      },
    );
    assert.equal(
      reuse.find(keys[6]!, 14, 1, () => false),
      undefined,
      'another certificate',
    );
    assert.equal(
      reuse.find(keys[5]!, 14, 2, () => false),
      undefined,
      'the client changed',
    );
    reuse.remember(keys[5]!, 'token-for-cert1', { ...claims, exp: 20, iat: 10 }, 1);
    assert.equal(
      reuse.find(keys[5]!, 14, 1, () => true),
      undefined,
      'revoked',
    );
    // Bounded: the least recently used goes.
    for (const key of keys.slice(0, 3)) reuse.remember(key, 't', claims, 1);
    assert.equal(reuse.size, 2);
  });

  it('answers the same 10 s token at 2 s with expires_in 8, at 5 s with 5, a new one at 6 s', async () => {
    const { clock, tessera } = await start();
    try {
      const client = await tessera.createClient({ scope: 'read write', tokenTtl: 10 });
      await tessera.registry.update(client.clientId, { reuseTokens: true });
      tessera.server.context.clients.invalidate(client.clientId);
      const first = await ask(tessera, client);
      assert.equal(first.status, 200);
      assert.equal(first.body.expires_in, 10);
      clock.now += 2;
      const second = await ask(tessera, client);
      assert.equal(second.body.access_token, first.body.access_token);
      assert.equal(second.body.expires_in, 8);
      clock.now += 3;
      const third = await ask(tessera, client);
      assert.equal(third.body.access_token, first.body.access_token, 'half its lifetime left');
      assert.equal(third.body.expires_in, 5);
      clock.now += 1;
      const fourth = await ask(tessera, client);
      assert.notEqual(fourth.body.access_token, first.body.access_token);
      assert.equal(fourth.body.expires_in, 10);

      // Another scope is another token (and is itself reused).
      const narrow = await ask(tessera, client, { scope: 'read' });
      assert.notEqual(narrow.body.access_token, fourth.body.access_token);
      assert.equal(narrow.body.scope, 'read');
      assert.equal(
        (await ask(tessera, client, { scope: 'read' })).body.access_token,
        narrow.body.access_token,
      );
      assert.equal((await ask(tessera, client)).body.access_token, fourth.body.access_token);
    } finally {
      await tessera.close();
    }
  });

  it('never reuses a revoked token', async () => {
    const { tessera } = await start();
    try {
      const client = await tessera.createClient();
      await tessera.registry.update(client.clientId, { reuseTokens: true });
      tessera.server.context.clients.invalidate(client.clientId);
      const first = await ask(tessera, client);
      assert.equal((await ask(tessera, client)).body.access_token, first.body.access_token);
      const revoked = await postForm(
        `${tessera.url}/oauth/revoke`,
        { token: first.body.access_token },
        { authorization: basicAuthorization(client.clientId, client.clientSecret) },
      );
      assert.equal(revoked.status, 200);
      const after = await ask(tessera, client);
      assert.equal(after.status, 200);
      assert.notEqual(after.body.access_token, first.body.access_token);
    } finally {
      await tessera.close();
    }
  });

  it('reuses a DPoP-bound token only for the same key, and never a bearer token for a DPoP request', async () => {
    const { clock, tessera } = await start({ reuseTokens: true });
    try {
      const client = await tessera.createClient();
      const keys = await Promise.all([1, 2].map(() => generateKeyPair('ES256')));
      const proof = async (index: number) => {
        const { kty, crv, x, y } = await exportJWK(keys[index]!.publicKey);
        return new SignJWT({
          jti: randomUUID(),
          htm: 'POST',
          htu: `${tessera.url}/oauth/token`,
          iat: clock.now,
        })
          .setProtectedHeader({
            alg: 'ES256',
            typ: 'dpop+jwt',
            jwk: { kty: kty!, crv: crv!, x: x!, y: y! },
          })
          .sign(keys[index]!.privateKey);
      };
      const bearer = await ask(tessera, client);
      assert.equal(bearer.body.token_type, 'Bearer');
      const bound = await ask(tessera, client, {}, { dpop: await proof(0) });
      assert.equal(bound.status, 200);
      assert.equal(bound.body.token_type, 'DPoP');
      assert.notEqual(bound.body.access_token, bearer.body.access_token);
      const again = await ask(tessera, client, {}, { dpop: await proof(0) });
      assert.equal(again.body.access_token, bound.body.access_token, 'same key, same token');
      const other = await ask(tessera, client, {}, { dpop: await proof(1) });
      assert.equal(other.body.token_type, 'DPoP');
      assert.notEqual(other.body.access_token, bound.body.access_token, 'another key');
      assert.equal((await ask(tessera, client)).body.access_token, bearer.body.access_token);
    } finally {
      await tessera.close();
    }
  });

  it('is off unless the client or the server asks for it; a reused token counts against a quota', async () => {
    const { tessera } = await start();
    try {
      const client = await tessera.createClient();
      const a = await ask(tessera, client);
      const b = await ask(tessera, client);
      assert.notEqual(a.body.access_token, b.body.access_token);
      await tessera.registry.update(client.clientId, { reuseTokens: true, tokenQuota: '3/h' });
      tessera.server.context.clients.invalidate(client.clientId);
      const statuses: number[] = [];
      const tokens = new Set<string>();
      for (let i = 0; i < 4; i++) {
        const answer = await ask(tessera, client);
        statuses.push(answer.status);
        if (answer.status === 200) tokens.add(answer.body.access_token);
      }
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      assert.equal(tokens.size, 1);
    } finally {
      await tessera.close();
    }
  });
});
