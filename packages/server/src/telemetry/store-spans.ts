import { SpanKind, trace } from '@opentelemetry/api';
import type { Store } from '../store/contract.js';
import { inChildSpan } from './request-spans.js';

/** Not asynchronous (or called per request to poll): passed through without a span. */
const untraced = new Set<PropertyKey>(['hasForeignChanges', 'watch', 'kind', 'writeHealth']);

/**
 * The store seen through a proxy that makes a CLIENT span (`store <method>`, with
 * `db.system.name` and `db.operation.name`) around each call made inside a traced request.
 * Calls outside requests (change-feed polling, key maintenance) make no span, so a quiet
 * server exports nothing. Installed only when tracing is on.
 */
export function traceStore(store: Store): Store {
  const scoped = new Map<string, Store>();
  const system = store.kind === 'postgres' ? 'postgresql' : 'sqlite';
  const wrappers = new Map<PropertyKey, unknown>();
  const proxy: Store = new Proxy(store, {
    get(target, property) {
      // A tenant's store (issue 21) is traced too, one wrapper per tenant.
      if (property === 'forTenant')
        return (name: string) => {
          if (name === target.tenant) return proxy;
          let found = scoped.get(name);
          if (!found) scoped.set(name, (found = traceStore(target.forTenant(name))));
          return found;
        };
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || untraced.has(property)) {
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      }
      let wrapper = wrappers.get(property);
      if (wrapper === undefined) {
        const method = value as (...args: unknown[]) => unknown;
        const operation = String(property);
        const attributes = { 'db.system.name': system, 'db.operation.name': operation };
        wrapper = (...args: unknown[]) => {
          if (!trace.getActiveSpan()) return method.apply(target, args);
          return inChildSpan(`store ${operation}`, SpanKind.CLIENT, attributes, async () =>
            method.apply(target, args),
          );
        };
        wrappers.set(property, wrapper);
      }
      return wrapper;
    },
  });
  return proxy;
}
