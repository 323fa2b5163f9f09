import type { Store } from './contract.js';
import { StoreWritesRefusedError, writeError } from './errors.js';

const writes = new Set<keyof Store>([
  'createClient',
  'importClients',
  'updateClient',
  'deleteClient',
  'changeSecrets',
  'recordSecretUse',
  'insertKey',
  'insertKeyIfNoneActive',
  'transitionKeys',
  'updateKey',
  'rewrap',
  'ensureSetting',
  'setSetting',
  'addRevocation',
  'prune',
  'appendAudit',
  'appendEvents',
  'markEventDelivered',
  'recordEventFailure',
  'holdLease',
  'putConsoleSession',
  'touchConsoleSession',
  'deleteConsoleSession',
  'putOperator',
  'removeOperator',
  'putTenantOperator',
  'removeTenantOperator',
  'createTenant',
  'updateTenant',
  'deleteTenant',
]);

export interface WriteHealth {
  /** Why the last write failed, while writes keep failing; undefined once one succeeds. */
  refusedBecause: string | undefined;
}

/**
 * Wraps a store so that a write the storage refuses (full disk, read-only file or database)
 * becomes a {@link StoreWritesRefusedError}, and remembers it for /readyz until a write
 * succeeds again. Reads are untouched, so cached token issuance never notices.
 */
export function guardWrites<S extends Store>(
  store: S,
  writeHealth: WriteHealth = { refusedBecause: undefined },
): S & { writeHealth: WriteHealth } {
  const scoped = new Map<string, Store>();
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'writeHealth') return writeHealth;
      // A tenant's store (issue 21) is guarded too, and reports into the same health.
      if (property === 'forTenant')
        return (name: string) => {
          if (name === target.tenant) return proxy;
          let found = scoped.get(name);
          if (!found) scoped.set(name, (found = guardWrites(target.forTenant(name), writeHealth)));
          return found;
        };
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (!writes.has(property as keyof Store)) return value.bind(target);
      return async (...args: unknown[]) => {
        try {
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          writeHealth.refusedBecause = undefined;
          return result;
        } catch (error) {
          const mapped = writeError(error);
          if (mapped instanceof StoreWritesRefusedError) writeHealth.refusedBecause = mapped.reason;
          throw mapped;
        }
      };
    },
  }) as S & { writeHealth: WriteHealth };
  return proxy;
}
