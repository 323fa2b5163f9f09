/**
 * Brute-force protection that an outsider cannot aim at a victim (issue 16): failures count per
 * (client_id, source address) and per address, so knowing a client_id is not enough to lock
 * its owner out. Over real HTTP from two loopback addresses: 127.0.0.2 attacks, 127.0.0.1 is
 * the victim.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureLimiter, type LockoutEvent } from '../src/client-auth/failure-limiter.js';
import { addressKey } from '../src/client-auth/source-address.js';
import { tokenFrom } from './support/source-address.js';
import { startTessera } from './support/tessera.js';

const victimAddress = '127.0.0.1';
const attackerAddress = '127.0.0.2';

async function metric(url: string, series: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('lockout that an outsider cannot aim', () => {
  it('never refuses the correct secret from 127.0.0.1 because of wrong ones from 127.0.0.2', async () => {
    const lines: string[] = [];
    // The default limits: 10 per (client_id, address), 50 per address, 60 s window and lock.
    const tessera = await startTessera({
      logLevel: 'info',
      logStream: { write: (line) => lines.push(line) },
    });
    try {
      const victim = await tessera.createClient();
      const bystander = await tessera.createClient();
      const statuses: number[] = [];
      for (let i = 0; i < 15; i += 1) {
        const answer = await tokenFrom(attackerAddress, tessera.url, victim.clientId, 'guess');
        statuses.push(answer.status);
      }
      assert.deepEqual(statuses, [...Array(10).fill(401), ...Array(5).fill(429)]);

      for (let i = 0; i < 3; i += 1) {
        const answer = await tokenFrom(
          victimAddress,
          tessera.url,
          victim.clientId,
          victim.clientSecret,
        );
        assert.equal(answer.status, 200, 'the victim is never refused');
      }

      // The attacking address waits, even with the right secret (it cannot tell it found it).
      const locked = await tokenFrom(
        attackerAddress,
        tessera.url,
        victim.clientId,
        victim.clientSecret,
      );
      assert.equal(locked.status, 429);
      // 60 s lock; a second may have passed since it started.
      const retryAfter = String(locked.headers['retry-after']);
      assert.ok(['59', '60'].includes(retryAfter));
      assert.equal(locked.headers['cache-control'], 'no-store');
      const body = locked.body as { error: string; error_description: string };
      assert.equal(body.error, 'temporarily_unavailable');
      // The description counts the same seconds as the header (either may read 59).
      assert.match(
        body.error_description,
        /^Too many failed authentication attempts; retry after (59|60) seconds$/,
      );
      // Ten failures are far from the per-address limit: other client_ids from there still work.
      const other = await tokenFrom(
        attackerAddress,
        tessera.url,
        bystander.clientId,
        bystander.clientSecret,
      );
      assert.equal(other.status, 200);

      const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      assert.ok(
        logged.some(
          (line) =>
            line.msg === 'client authentication locked out after repeated failures' &&
            line.lockout === 'client_id' &&
            line.client_id === victim.clientId &&
            line.address === attackerAddress,
        ),
        'the lock is logged with the address it is on',
      );
      assert.equal(
        await metric(tessera.url, 'tessera_auth_lockouts_total{key="client_id",tenant="default"}'),
        1,
      );

      // A failure from a second address: the client-wide alert, and still nobody else refused.
      assert.equal(
        (await tokenFrom(victimAddress, tessera.url, victim.clientId, 'typo')).status,
        401,
      );
      assert.ok(
        lines.some(
          (line) =>
            line.includes('"client_id failing from several addresses; not refused"') &&
            line.includes(victim.clientId),
        ),
        'the alert names the client_id',
      );
      assert.equal(
        await metric(tessera.url, 'tessera_auth_failure_alerts_total{tenant="default"}'),
        1,
      );
      assert.equal(
        (await tokenFrom(victimAddress, tessera.url, victim.clientId, victim.clientSecret)).status,
        200,
      );
      assert.ok(!lines.join('').includes(victim.clientSecret));
    } finally {
      await tessera.close();
    }
  });

  it('makes only the address that fails across many client_ids wait', async () => {
    const tessera = await startTessera({
      authFailureLimits: { perClient: 100, perAddress: 8, windowSeconds: 60, lockSeconds: 60 },
    });
    try {
      const client = await tessera.createClient();
      for (let i = 0; i < 8; i += 1) {
        const answer = await tokenFrom(attackerAddress, tessera.url, `made-up-${i}`, 'x');
        assert.equal(answer.status, 401);
      }
      const fromAttacker = await tokenFrom(
        attackerAddress,
        tessera.url,
        client.clientId,
        client.clientSecret,
      );
      assert.equal(fromAttacker.status, 429, 'every client_id waits at the locked address');
      const fromVictim = await tokenFrom(
        victimAddress,
        tessera.url,
        client.clientId,
        client.clientSecret,
      );
      assert.equal(fromVictim.status, 200, 'another address is not affected');
      assert.equal(
        await metric(tessera.url, 'tessera_auth_lockouts_total{key="address",tenant="default"}'),
        1,
      );
    } finally {
      await tessera.close();
    }
  });

  it('keeps store reads bounded under a flood of distinct client_ids from one address', async () => {
    const perAddress = 20;
    const tessera = await startTessera({
      authFailureLimits: { perClient: 10, perAddress, windowSeconds: 60, lockSeconds: 60 },
    });
    try {
      const clients = tessera.server.context.clients;
      const readsBefore = clients.storeReads;
      const statuses = new Map<number, number>();
      for (let i = 0; i < 200; i += 1) {
        const { status } = await tokenFrom(attackerAddress, tessera.url, `flood-${i}`, 'x');
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
      assert.deepEqual(Object.fromEntries(statuses), { 401: perAddress, 429: 200 - perAddress });
      assert.ok(
        clients.storeReads - readsBefore <= perAddress,
        `store reads: ${clients.storeReads - readsBefore}`,
      );
      const size = tessera.server.context.authenticator.failures.size;
      assert.deepEqual(size, { pairs: perAddress, addresses: 1, clients: perAddress });
    } finally {
      await tessera.close();
    }
  });

  it('keeps memory bounded under a flood of distinct client_ids and addresses', () => {
    const limiter = new FailureLimiter({
      perClient: 10,
      perAddress: 50,
      windowSeconds: 60,
      lockSeconds: 60,
    });
    for (let i = 0; i < 250_000; i += 1) {
      const address = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      void limiter.recordFailure(`flood-${i}`, address, 'unknown_client');
    }
    assert.deepEqual(limiter.size, { pairs: 100_000, addresses: 100_000, clients: 100_000 });
  });

  it('reports lockout.started and lockout.ended, with refused: false for the alert', async () => {
    let now = 1_000_000;
    const limiter = new FailureLimiter(
      { perClient: 3, perAddress: 100, windowSeconds: 60, lockSeconds: 30 },
      () => now,
    );
    const events: LockoutEvent[] = [];
    limiter.onEvent = (event) => events.push(event);
    for (let i = 0; i < 3; i += 1) await limiter.recordFailure('victim', attackerAddress);
    assert.throws(() => limiter.check('victim', attackerAddress), { name: 'ClientAuthError' });
    limiter.check('victim', victimAddress);
    await limiter.recordFailure('victim', '127.0.0.3');
    assert.deepEqual(events, [
      {
        type: 'lockout.started',
        tenant: 'default',
        key: 'client_id',
        refused: true,
        clientId: 'victim',
        address: attackerAddress,
        until: now + 30,
      },
      {
        type: 'lockout.started',
        tenant: 'default',
        key: 'client_id_all_addresses',
        refused: false,
        clientId: 'victim',
        address: '127.0.0.3',
        until: now + 30,
      },
    ]);
    now += 29;
    limiter.sweep();
    assert.equal(events.length, 2);
    now += 1;
    limiter.sweep();
    assert.deepEqual(
      events.slice(2).map(({ type, key }) => ({ type, key })),
      [
        { type: 'lockout.ended', key: 'client_id' },
        { type: 'lockout.ended', key: 'client_id_all_addresses' },
      ],
    );
    limiter.check('victim', attackerAddress);
  });

  it('counts an IPv6 address as its /64 and an IPv4-mapped address as the IPv4 one', () => {
    assert.equal(addressKey('::ffff:127.0.0.2'), '127.0.0.2');
    assert.equal(addressKey('127.0.0.2'), '127.0.0.2');
    assert.equal(addressKey('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:DB8:1:2::9'), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey(undefined), '-');
  });
});

describe('lockout behind a trusted proxy', () => {
  it('counts the address in X-Forwarded-For from a trusted proxy, and ignores it from anyone else', async () => {
    const tessera = await startTessera({ trustedProxies: ['127.0.0.1'] });
    try {
      const victim = await tessera.createClient();
      const via = (forwardedFor: string, secret: string, from = victimAddress) =>
        tokenFrom(from, tessera.url, victim.clientId, secret, { 'x-forwarded-for': forwardedFor });
      // The balancer (127.0.0.1) forwards an attacker at 203.0.113.7 ten times.
      for (let i = 0; i < 10; i += 1) {
        assert.equal((await via('203.0.113.7', 'guess')).status, 401);
      }
      assert.equal((await via('203.0.113.7', victim.clientSecret)).status, 429);
      // The victim, behind the same balancer, from its own address.
      assert.equal((await via('198.51.100.9', victim.clientSecret)).status, 200);
      assert.equal((await via('10.0.0.5, 198.51.100.9', victim.clientSecret)).status, 200);
      // The nearest untrusted hop counts: a client cannot pick another address by prepending.
      assert.equal((await via('198.51.100.9, 203.0.113.7', victim.clientSecret)).status, 429);

      // 127.0.0.2 is no trusted proxy: its header is ignored, its own address counts.
      for (let i = 0; i < 10; i += 1) {
        const answer = await via('198.51.100.9', 'guess', attackerAddress);
        assert.equal(answer.status, 401);
      }
      assert.equal((await via('198.51.100.9', victim.clientSecret, attackerAddress)).status, 429);
      assert.equal((await via('198.51.100.9', victim.clientSecret)).status, 200);
    } finally {
      await tessera.close();
    }
  });
});
