/**
 * Issue 21: how a request picks its tenant, and each tenant's endpoints by route. A request
 * is a tenant's when its path starts `/t/NAME/` or its Host is mapped (`--tenant-host`);
 * every other request is the default tenant's, exactly as before tenants existed. The
 * tenant's endpoints are mounted once (routes.ts: `/t/:tenant/*`), not once per tenant.
 */
import type { IncomingMessage } from 'node:http';
import type { Endpoint } from '../endpoints/endpoint.js';

/** The path prefix of path-selected tenants. */
export const tenantPrefix = '/t/';

export interface TenantSelection {
  tenant: string;
  /** The request's path (and query) within the tenant: `/oauth/token`. */
  path: string;
}

/** A tenant's endpoints: by `METHOD path`, by path, and its token endpoints by exact path. */
export interface TenantRoutes {
  byRoute: ReadonlyMap<string, Endpoint>;
  byPath: ReadonlyMap<string, Endpoint>;
  token: ReadonlyMap<string, Endpoint>;
}

export function tenantRoutes(endpoints: readonly Endpoint[]): TenantRoutes {
  const byRoute = new Map<string, Endpoint>();
  const byPath = new Map<string, Endpoint>();
  const token = new Map<string, Endpoint>();
  for (const endpoint of endpoints)
    for (const path of endpoint.paths) {
      byRoute.set(`${endpoint.method} ${path}`, endpoint);
      byPath.set(path, endpoint);
      if (endpoint.kind === 'token') token.set(path, endpoint);
    }
  return { byRoute, byPath, token };
}

/**
 * The tenant a request names, by path prefix first, then by Host (exactly, then without
 * its port); undefined for the default tenant's requests. Does not check that it exists.
 */
export function tenantSelector(
  hosts: ReadonlyMap<string, string>,
): (request: IncomingMessage) => TenantSelection | undefined {
  return (request) => {
    const url = request.url ?? '/';
    if (url.startsWith(tenantPrefix)) {
      const end = url.indexOf('/', tenantPrefix.length);
      const query = url.indexOf('?', tenantPrefix.length);
      const stop =
        end === -1
          ? query === -1
            ? url.length
            : query
          : query !== -1 && query < end
            ? query
            : end;
      const tenant = url.slice(tenantPrefix.length, stop);
      const rest = url.slice(stop);
      return { tenant, path: rest === '' || rest.startsWith('?') ? `/${rest}` : rest };
    }
    if (hosts.size === 0) return undefined;
    const host = request.headers.host?.toLowerCase();
    if (host === undefined) return undefined;
    const tenant = hosts.get(host) ?? hosts.get(host.replace(/:\d+$/, ''));
    return tenant === undefined ? undefined : { tenant, path: url };
  };
}
