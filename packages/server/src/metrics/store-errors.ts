import type { Store } from '../store/contract.js';
import type { CountTable } from './count-table.js';

/** Called on the hot path or not asynchronous: passed through without a wrapper. */
const unwrapped = new Set<PropertyKey>(['hasForeignChanges', 'watch']);

/**
 * The store seen through a proxy that counts failed calls per operation (a rejected promise
 * or a throw), whichever adapter is underneath. The caller still gets the original promise,
 * rejection included. Wrappers are made once per method, so a call allocates nothing extra.
 */
export function countStoreErrors(store: Store, errors: CountTable): Store {
  const wrappers = new Map<PropertyKey, unknown>();
  const scoped = new Map<string, Store>();
  const proxy: Store = new Proxy(store, {
    get(target, property) {
      // A tenant's store (issue 21) counts into the same table, one wrapper per tenant.
      if (property === 'forTenant')
        return (name: string) => {
          if (name === target.tenant) return proxy;
          let found = scoped.get(name);
          if (!found) scoped.set(name, (found = countStoreErrors(target.forTenant(name), errors)));
          return found;
        };
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      let wrapper = wrappers.get(property);
      if (wrapper === undefined) {
        const method = value as (...args: unknown[]) => unknown;
        const operation = String(property);
        wrapper = unwrapped.has(property)
          ? method.bind(target)
          : (...args: unknown[]) => {
              try {
                const result = method.apply(target, args);
                if (result instanceof Promise) result.catch(() => errors.inc(operation));
                return result;
              } catch (error) {
                errors.inc(operation);
                throw error;
              }
            };
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });
  return proxy;
}
