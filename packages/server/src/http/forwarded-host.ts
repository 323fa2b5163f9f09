import type { IncomingMessage } from 'node:http';
import { isTrustedProxy } from '../lib/trusted-proxies.js';

/** What a request's tenant host is read from (the request's headers and its peer). */
export interface HostFacts {
  host: string | undefined;
  forwardedHost: string | string[] | undefined;
  forwarded: string | undefined;
  peer: string | undefined;
}

export const hostFactsOf = (request: IncomingMessage): HostFacts => ({
  host: request.headers.host,
  forwardedHost: request.headers['x-forwarded-host'],
  forwarded: request.headers.forwarded,
  peer: request.socket.remoteAddress,
});

/**
 * The host name `--tenant-host` matches, lower-cased: the `Host` header, or, when the
 * connection comes from a trusted proxy (`--trusted-proxy`), the host that proxy says the
 * client asked for: `X-Forwarded-Host` (its first value: the client-facing proxy's), else
 * `Forwarded: host=` (RFC 7239, its first element). From any other peer both headers are
 * ignored, so nobody can pick a tenant's host by sending them. Only tenant selection reads
 * this: issuers are fixed per tenant, never derived from the request.
 */
export function selectionHost(
  trustedProxies: readonly string[],
  facts: HostFacts,
): string | undefined {
  return hostOf(trustedProxies, facts.host, facts.forwardedHost, facts.forwarded, facts.peer);
}

/** {@link selectionHost} of a request, reading its headers where they are (no facts object). */
export const requestHost = (trustedProxies: readonly string[], request: IncomingMessage) =>
  hostOf(
    trustedProxies,
    request.headers.host,
    request.headers['x-forwarded-host'],
    request.headers.forwarded,
    request.socket.remoteAddress,
  );

function hostOf(
  trustedProxies: readonly string[],
  host: string | undefined,
  forwardedHost: string | string[] | undefined,
  forwarded: string | undefined,
  peer: string | undefined,
): string | undefined {
  if (
    (forwardedHost !== undefined || forwarded !== undefined) &&
    isTrustedProxy(trustedProxies, peer)
  ) {
    const first = firstForwardedHost(forwardedHost, forwarded);
    if (first !== undefined) return first.toLowerCase();
  }
  return host?.toLowerCase();
}

function firstForwardedHost(
  forwardedHost: string | string[] | undefined,
  forwarded: string | undefined,
): string | undefined {
  if (forwardedHost !== undefined) {
    const joined = Array.isArray(forwardedHost) ? forwardedHost[0] : forwardedHost;
    const first = joined?.split(',', 1)[0]!.trim();
    if (first) return first;
  }
  if (forwarded === undefined) return undefined;
  // RFC 7239 §4: `for=…;host=h;proto=https, for=…`: the first element's host parameter.
  const element = forwarded.split(',', 1)[0]!;
  for (const pair of element.split(';')) {
    const eq = pair.indexOf('=');
    if (eq === -1 || pair.slice(0, eq).trim().toLowerCase() !== 'host') continue;
    const value = pair.slice(eq + 1).trim();
    const host = value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
    return host || undefined;
  }
  return undefined;
}
