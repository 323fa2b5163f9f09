import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { planKeyTransitions } from '../src/keys/key-schedule.js';
import type { KeyRecord } from '../src/store/contract.js';
import { runCli } from './support/cli.js';
import { basicAuthorization, postForm, startTessera } from './support/tessera.js';
import { getToken } from './support/tokens.js';

const key = (
  kid: string,
  state: KeyRecord['state'],
  extra: Partial<KeyRecord> = {},
): KeyRecord => ({
  kid,
  alg: 'RS256',
  state,
  publicJwk: {},
  encryptedPrivateKey: '',
  createdAt: 0,
  activatesAt: null,
  retiresAt: null,
  ...extra,
});

describe('key lifecycle plan', () => {
  it('activates a due published key and retires the one it replaces later', () => {
    const keys = [key('old', 'active'), key('new', 'published', { activatesAt: 100 })];
    assert.deepEqual(planKeyTransitions(keys, { now: 99, retireAfterSeconds: 3660 }), []);
    assert.deepEqual(planKeyTransitions(keys, { now: 100, retireAfterSeconds: 3660 }), [
      { kid: 'new', state: 'active' },
      { kid: 'old', state: 'retiring', retiresAt: 3760 },
    ]);
    const later = [
      key('old', 'retiring', { retiresAt: 3760 }),
      key('new', 'active', { activatesAt: 100 }),
    ];
    assert.deepEqual(planKeyTransitions(later, { now: 3759, retireAfterSeconds: 3660 }), []);
    assert.deepEqual(planKeyTransitions(later, { now: 3760, retireAfterSeconds: 3660 }), [
      { kid: 'old', state: 'retired' },
    ]);
  });

  it('keeps algorithms apart', () => {
    const keys = [
      key('rsa', 'active'),
      key('ec', 'active', { alg: 'ES256' }),
      key('rsa2', 'published', { activatesAt: 5 }),
    ];
    assert.deepEqual(planKeyTransitions(keys, { now: 5, retireAfterSeconds: 10 }), [
      { kid: 'rsa2', state: 'active' },
      { kid: 'rsa', state: 'retiring', retiresAt: 15 },
    ]);
  });
});

describe('signing key rotation', () => {
  it('publishes first, signs after the propagation delay, retires after the last token expires', async () => {
    let now = Math.floor(Date.now() / 1000);
    const tessera = await startTessera({ nowSeconds: () => now, jwksMaxAge: 300 });
    try {
      const client = await tessera.createClient({ tokenTtl: 600 });
      const oldKid = decodeProtectedHeader(await getToken(tessera.url, client)).kid;
      const rotated = await runCli([
        'keys',
        'rotate',
        '--propagation',
        '300',
        '--json',
        '--database',
        tessera.database,
      ]);
      assert.equal(rotated.status, 0, rotated.stderr);
      const published = JSON.parse(rotated.stdout);
      assert.equal(published.state, 'published');
      await tessera.server.context.syncChanges();
      const jwks = (await (await fetch(`${tessera.url}/.well-known/jwks.json`)).json()) as {
        keys: Array<{ kid: string }>;
      };
      assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [oldKid, published.kid].sort());
      assert.equal(
        decodeProtectedHeader(await getToken(tessera.url, client)).kid,
        oldKid,
        'the new key does not sign yet',
      );

      // The CLI stamps its own wall clock, which on a loaded machine runs seconds after this
      // test read it: step past the activation time it recorded, not past our own reading.
      now = Math.max(now + 305, Date.parse(published.activates_at) / 1000 + 1);
      await tessera.server.context.maintainKeys();
      assert.equal(
        decodeProtectedHeader(await getToken(tessera.url, client)).kid,
        published.kid,
        'the new key signs after the delay',
      );
      const states = JSON.parse(
        (await runCli(['keys', 'list', '--json', '--database', tessera.database])).stdout,
      ) as Array<{ kid: string; state: string; retires_at: string | null }>;
      const old = states.find((k) => k.kid === oldKid)!;
      assert.equal(old.state, 'retiring');
      assert.equal(
        old.retires_at,
        new Date((now + 600 + 60) * 1000).toISOString(),
        'longest token lifetime plus 60 s of clock skew',
      );
      assert.equal(states.find((k) => k.kid === published.kid)!.state, 'active');

      now += 660;
      await tessera.server.context.maintainKeys();
      const after = (await (await fetch(`${tessera.url}/.well-known/jwks.json`)).json()) as {
        keys: Array<{ kid: string }>;
      };
      assert.deepEqual(
        after.keys.map((k) => k.kid),
        [published.kid],
      );
    } finally {
      await tessera.close();
    }
  });

  it('loses not one verification while keys rotate under load', async () => {
    const maxAge = 1;
    const tessera = await startTessera({ jwksMaxAge: maxAge });
    try {
      const client = await tessera.createClient({ tokenTtl: 30 });
      const admin = await tessera.createClient({ scope: 'tessera:admin' });
      // A verifier that honours the JWKS max-age and never refetches on an unknown kid:
      // only publication before use can keep it from failing.
      const jwks = createRemoteJWKSet(new URL(`${tessera.url}/.well-known/jwks.json`), {
        cacheMaxAge: maxAge * 1000,
        cooldownDuration: 3_600_000,
      });
      const kids = new Set<string>();
      let verified = 0;
      const failures: string[] = [];
      let rotations = 0;
      const deadline = Date.now() + 9_000;
      const rotate = async () => {
        const adminToken = await getToken(tessera.url, admin);
        const response = await fetch(`${tessera.url}/admin/v1/keys/rotate`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ propagation_seconds: maxAge }),
        });
        assert.equal(response.status, 201);
        rotations += 1;
      };
      const rotator = (async () => {
        while (Date.now() < deadline - 2500) {
          await new Promise((resolve) => setTimeout(resolve, 1200));
          await rotate();
        }
      })();
      const workers = Array.from({ length: 4 }, async () => {
        while (Date.now() < deadline) {
          const token = await getToken(tessera.url, client);
          try {
            const { protectedHeader } = await jwtVerify(token, jwks, {
              issuer: tessera.issuer,
              typ: 'at+jwt',
            });
            kids.add(protectedHeader.kid!);
            verified += 1;
          } catch (error) {
            failures.push(`${(error as Error).name}: ${(error as Error).message}`);
          }
        }
      });
      await Promise.all([rotator, ...workers]);
      assert.deepEqual(failures, []);
      assert.ok(rotations >= 2, `rotated ${rotations} times`);
      assert.ok(kids.size >= 2, `tokens were signed by ${kids.size} keys`);
      assert.ok(verified > 50, `verified ${verified} tokens`);
    } finally {
      await tessera.close();
    }
  });

  it('rotates on a schedule with --key-rotation-days', async () => {
    let now = Math.floor(Date.now() / 1000);
    const tessera = await startTessera({ nowSeconds: () => now, keyRotationDays: 30 });
    try {
      await tessera.server.context.maintainKeys();
      assert.equal(tessera.server.context.keys.records.length, 1);
      now += 30 * 86400;
      await tessera.server.context.maintainKeys();
      const states = tessera.server.context.keys.records.map((k) => k.state).sort();
      assert.deepEqual(states, ['active', 'published']);
      await tessera.server.context.maintainKeys();
      assert.equal(tessera.server.context.keys.records.length, 2, 'one pending rotation at a time');
    } finally {
      await tessera.close();
    }
  });
});

describe('client secret rotation', () => {
  it('keeps the old secret working for the grace period, at most two live secrets', async () => {
    let now = Math.floor(Date.now() / 1000);
    const tessera = await startTessera({ nowSeconds: () => now });
    try {
      const client = await tessera.createClient();
      const rotated = await runCli([
        'clients',
        'rotate-secret',
        client.clientId,
        '--grace',
        '600',
        '--json',
        '--database',
        tessera.database,
      ]);
      assert.equal(rotated.status, 0, rotated.stderr);
      const { client_secret: second, secrets } = JSON.parse(rotated.stdout) as {
        client_secret: string;
        secrets: Array<{ expires_at: string | null }>;
      };
      assert.match(second, /^tsr_/);
      assert.equal(secrets.length, 2);
      assert.equal(secrets[1]!.expires_at, null);
      await tessera.server.context.syncChanges();
      const status = async (secret: string) =>
        (
          await postForm(
            `${tessera.url}/oauth/token`,
            { grant_type: 'client_credentials' },
            { authorization: basicAuthorization(client.clientId, secret) },
          )
        ).status;
      assert.equal(await status(client.clientSecret), 200, 'old secret inside the grace period');
      assert.equal(await status(second), 200, 'new secret');

      // The CLI stamped the expiry with its own clock (it may start seconds after this test).
      const graceEnds = Date.parse(secrets[0]!.expires_at!) / 1000;
      assert.ok(graceEnds - now >= 600 && graceEnds - now < 660, 'the grace period is 600 s');
      now = graceEnds;
      assert.equal(await status(client.clientSecret), 401, 'old secret after the grace period');
      assert.equal(await status(second), 200);

      const { clientSecret: third } = await tessera.registry.rotateSecret(client.clientId, 3600);
      const { clientSecret: fourth, client: record } = await tessera.registry.rotateSecret(
        client.clientId,
        3600,
      );
      tessera.server.context.clients.invalidate(client.clientId);
      const live = record.secrets.filter((s) => s.expiresAt === null || s.expiresAt > now);
      assert.equal(live.length, 2);
      assert.equal(await status(second), 401, 'the oldest of three stops at once');
      assert.equal(await status(third), 200);
      assert.equal(await status(fourth), 200);

      await tessera.server.context.secretUsage.flush();
      const shown = JSON.parse(
        (
          await runCli([
            'clients',
            'show',
            client.clientId,
            '--json',
            '--database',
            tessera.database,
          ])
        ).stdout,
      );
      const used = shown.secrets.filter(
        (s: { last_used_at: string | null }) => s.last_used_at !== null,
      );
      assert.ok(used.length >= 2, 'last use is recorded');
      for (const secret of [client.clientSecret, second, third, fourth])
        assert.ok(!JSON.stringify(shown).includes(secret));
    } finally {
      await tessera.close();
    }
  });
});
