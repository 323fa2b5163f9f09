/**
 * Issue 21: how a request picks its tenant, and each tenant's endpoints by route. A request
 * is a tenant's when its path starts `/t/NAME/` or its Host is mapped (`--tenant-host`);
 * every other request is the default tenant's, exactly as before tenants existed. The
 * tenant's endpoints are mounted once (routes.ts: `/t/:tenant/*`), not once per tenant.
 */
import type { IncomingMessage } from 'node:http';
import type { Endpoint } from '../endpoints/endpoint.js';
import { requestHost } from './forwarded-host.js';

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

/** The tenant `--tenant-host` maps a host name to (exactly, then without its port). */
export const tenantOfHost = (
  hosts: ReadonlyMap<string, string>,
  host: string,
): string | undefined => hosts.get(host) ?? hosts.get(host.replace(/:\d+$/, ''));

/**
 * The tenant a request names, by path prefix first, then by host (exactly, then without
 * its port: the `Host` header, or a trusted proxy's `X-Forwarded-Host`, http/forwarded-host.ts);
 * undefined for the default tenant's requests. Does not check that it exists.
 */
export function tenantSelector(
  hosts: ReadonlyMap<string, string>,
  trustedProxies: readonly string[] = [],
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
    const host = requestHost(trustedProxies, request);
    if (host === undefined) return undefined;
    const tenant = tenantOfHost(hosts, host);
    return tenant === undefined ? undefined : { tenant, path: url };
  };
}

/** The discovery documents' names (endpoints/discovery.ts serves both). */
export const wellKnownNames = [
  '/.well-known/oauth-authorization-server',
  '/.well-known/openid-configuration',
] as const;

/**
 * RFC 8414 §3.1: the metadata of an issuer with a path is at the well-known name inserted
 * between host and path: issuer `https://h/auth/t/NAME` has its document at
 * `https://h/.well-known/oauth-authorization-server/auth/t/NAME`. This maps such a path to
 * where the document is served: `/t/NAME/.well-known/…` for a path-selected tenant (the
 * one tenant route, which answers 404 for an unknown name), `/.well-known/…` for the
 * server's own issuer when it has a path (`issuerPath`, `/auth`). The server's issuer
 * path may also be missing (`…/oauth-authorization-server/t/NAME`), for a proxy that strips
 * it as it does from the other paths. The OpenID Connect name is mapped the same way, for
 * clients that apply the RFC 8414 rule to it. Undefined for every other path.
 */
export function wellKnownTarget(url: string, issuerPath: string): string | undefined {
  if (!url.startsWith('/.well-known/')) return undefined;
  for (const name of wellKnownNames) {
    if (!url.startsWith(name) || url[name.length] !== '/') continue;
    const queryAt = url.indexOf('?');
    const query = queryAt === -1 ? '' : url.slice(queryAt);
    let rest = queryAt === -1 ? url.slice(name.length) : url.slice(name.length, queryAt);
    if (issuerPath !== '' && (rest === issuerPath || rest.startsWith(`${issuerPath}/`)))
      rest = rest.slice(issuerPath.length);
    if (rest === '') return `${name}${query}`;
    if (!rest.startsWith(tenantPrefix)) return undefined;
    const tenant = rest.slice(tenantPrefix.length);
    if (tenant === '' || tenant.includes('/')) return undefined;
    return `${tenantPrefix}${tenant}${name}${query}`;
  }
  return undefined;
}

/** The path of an issuer URL without its trailing slash (`''` for `https://h`), cached. */
export function issuerPathOf(issuer: string): string {
  if (issuer !== lastIssuer) {
    lastIssuer = issuer;
    lastPath = new URL(issuer).pathname.replace(/\/+$/, '');
  }
  return lastPath;
}
let lastIssuer = '';
let lastPath = '';
