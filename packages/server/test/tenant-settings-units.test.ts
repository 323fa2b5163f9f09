/**
 * Issue 21: the pure parts of per-tenant lockouts and hooks: the failure limiter's keys (the
 * default tenant's as before tenants, so a shared state keeps its counts across the upgrade;
 * a tenant's apart), merging a settings change into the stored document, and resolving a
 * tenant's hook and limits against the server's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailureLimiter, type LockoutEvent } from '../src/client-auth/failure-limiter.js';
import { MemorySharedState } from '../src/shared-state/memory-state.js';
import { settingsPatch, TenantError } from '../src/tenants/tenant-input.js';
import {
  readTenantSettings,
  tenantFailureLimits,
  tenantHookSecret,
  tenantTokenHook,
} from '../src/tenants/tenant-settings.js';

const limits = { perClient: 10, perAddress: 50, windowSeconds: 60, lockSeconds: 60 };

describe('failure limiter per tenant', () => {
  it('keeps the default tenant’s shared-state keys, and puts a tenant’s under t/NAME/', async () => {
    const now = 1_000_000;
    const shared = new MemorySharedState(() => now);
    const limiter = new FailureLimiter(limits, () => now);
    limiter.shared = shared;
    await limiter.recordFailure('c1', '127.0.0.2');
    const strict = limiter.forTenant('strict', { ...limits, perClient: 2 });
    await strict.recordFailure('c1', '127.0.0.2');
    await strict.recordFailure('c1', '127.0.0.2');
    const count = async (namespace: string, key: string) =>
      (await shared.count(namespace, key, 60)).count;
    assert.equal(await count('auth-failures/client-address', 'c1\u0000127.0.0.2'), 1);
    assert.equal(await count('auth-failures/address', '127.0.0.2'), 1);
    assert.equal(await count('auth-failures/client', 'c1'), 1);
    assert.equal(await count('t/strict/auth-failures/client-address', 'c1\u0000127.0.0.2'), 2);
    assert.equal(await count('t/strict/auth-failures/address', '127.0.0.2'), 2);
    assert.throws(() => strict.check('c1', '127.0.0.2'), { name: 'ClientAuthError' });
    // The same client_id and address at the default tenant: one failure of its ten.
    limiter.check('c1', '127.0.0.2');
  });

  it('reports the tenant of each lock, with its own lock time, and applies a lock per tenant', async () => {
    let now = 2_000_000;
    const limiter = new FailureLimiter(limits, () => now);
    const events: LockoutEvent[] = [];
    limiter.onEvent = (event) => events.push(event);
    const a = limiter.forTenant('a', { ...limits, perAddress: 1, lockSeconds: 5 });
    await a.recordFailure('x', '127.0.0.3');
    assert.deepEqual(
      events.map((event) => [event.tenant, event.key, event.until]),
      [['a', 'address', now + 5]],
    );
    assert.throws(() => a.check('y', '127.0.0.3'), { name: 'ClientAuthError' });
    limiter.check('y', '127.0.0.3');
    limiter.forTenant('b', limits).check('y', '127.0.0.3');
    // A lock from the primary names its tenant.
    limiter.applyLock('address', 'z', '127.0.0.4', now + 30, 'b');
    assert.throws(() => limiter.forTenant('b', limits).check('q', '127.0.0.4'));
    a.check('q', '127.0.0.4');
    limiter.check('q', '127.0.0.4');
    now += 6;
    limiter.sweep();
    assert.deepEqual(events.at(-1), { ...events[0], type: 'lockout.ended' });
  });
});

describe('tenant settings', () => {
  it('merges a change into the stored document, one member at a time', () => {
    const stored = readTenantSettings({
      authFailureLimits: { perClient: 3, lockSeconds: 90 },
      tokenHook: { url: 'https://h.test/a', timeoutMs: 500 },
    });
    assert.deepEqual(
      settingsPatch(stored, {
        authFailureLimits: { lockSeconds: null, perAddress: 7 },
        tokenHook: { failure: 'allow' },
      }),
      {
        authFailureLimits: { perClient: 3, perAddress: 7 },
        tokenHook: { url: 'https://h.test/a', timeoutMs: 500, failure: 'allow' },
      },
    );
    assert.deepEqual(settingsPatch(stored, { authFailureLimits: null, tokenHook: null }), {});
    assert.deepEqual(settingsPatch(stored, { tokenHook: 'none' }), {
      authFailureLimits: { perClient: 3, lockSeconds: 90 },
      tokenHook: 'none',
    });
    assert.equal(settingsPatch(stored, { tokenTtl: 5 }), undefined);
    assert.throws(
      () => settingsPatch({ tokenHook: 'none' }, { tokenHook: { timeoutMs: 5 } }),
      (error: unknown) => error instanceof TenantError && /own token hook URL/.test(error.message),
    );
  });

  it('drops what does not fit when reading a stored document', () => {
    assert.deepEqual(
      readTenantSettings({
        authFailureLimits: { perClient: 0, perAddress: 2.5, windowSeconds: 30, other: 1 },
        tokenHook: { timeoutMs: 5 },
        note: 'x',
      }),
      { authFailureLimits: { windowSeconds: 30 } },
    );
    assert.deepEqual(readTenantSettings(null), {});
  });

  it('resolves limits and the hook against the server’s', () => {
    const server = { url: 'https://server.test/hook', timeoutMs: 250, failure: 'allow' as const };
    assert.deepEqual(tenantFailureLimits(limits, { authFailureLimits: { perClient: 3 } }), {
      ...limits,
      perClient: 3,
    });
    assert.deepEqual(tenantTokenHook(server, {}), { hook: server, own: false });
    assert.equal(tenantTokenHook(server, { tokenHook: 'none' }), undefined);
    assert.equal(tenantTokenHook(undefined, {}), undefined);
    assert.deepEqual(tenantTokenHook(server, { tokenHook: { url: 'https://t.test/' } }), {
      hook: { url: 'https://t.test/', timeoutMs: 250, failure: 'allow' },
      own: true,
    });
    assert.deepEqual(tenantTokenHook(undefined, { tokenHook: { url: 'https://t.test/' } }), {
      hook: { url: 'https://t.test/', timeoutMs: 300, failure: 'deny' },
      own: true,
    });
    assert.equal(
      tenantHookSecret('s', 'acme'),
      // HMAC-SHA256("s", "tessera tenant token hook\0acme"), computed apart (Python hmac).
      'a2491d8269e6007d91915a0699bb07f2e63d58e26f4cf3503293f538ee0eda8d',
    );
  });
});
