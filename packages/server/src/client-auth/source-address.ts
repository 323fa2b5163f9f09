import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { isTrustedProxy } from '../lib/trusted-proxies.js';
import type { TesseraContext } from '../context.js';

/**
 * The address a request comes from, as failures are counted: the connection's peer, or, when
 * that peer is a trusted proxy (`--trusted-proxy`), the nearest address in `X-Forwarded-For`
 * that is not itself a trusted proxy. Behind a balancer every connection comes from the
 * balancer; without this, one attacker's failures would lock everyone's client_id out again.
 * From an untrusted peer the header is ignored, so nobody can pick whose address they fail as.
 */
export function requestSourceAddress(
  context: TesseraContext,
  request: IncomingMessage,
): string | undefined {
  const peer = request.socket.remoteAddress;
  const forwarded = request.headers['x-forwarded-for'];
  if (peer === undefined || forwarded === undefined) return peer;
  const trusted = context.config.trustedProxies;
  if (!isTrustedProxy(trusted, peer)) return peer;
  const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded).split(',');
  let nearest = peer;
  for (let i = hops.length - 1; i >= 0; i -= 1) {
    const hop = hops[i]!.trim();
    // Garbage where a proxy should have written an address: stop believing the header there.
    if (isIP(hop) === 0) break;
    nearest = hop;
    if (!isTrustedProxy(trusted, hop)) break;
  }
  return nearest;
}

/**
 * The key failures are counted under for a source address. IPv4 addresses (also when mapped
 * into IPv6, `::ffff:a.b.c.d`) count one by one; an IPv6 address counts as its /64, because
 * one subscriber usually holds a whole /64 and could otherwise pick a new address per guess.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return '-';
  if (!address.includes(':')) return address;
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  return ipv6Prefix64(address.replace(/%.*$/, '').toLowerCase());
}

function ipv6Prefix64(address: string): string {
  const [left = '', right] = address.split('::', 2);
  const head = left === '' ? [] : left.split(':');
  if (right === undefined) return `${head.slice(0, 4).map(group).join(':')}::/64`;
  const tail = right === '' ? [] : right.split(':');
  // An embedded IPv4 tail (`::1.2.3.4`) stands for two groups.
  const tailGroups = tail.length + (tail.at(-1)?.includes('.') ? 1 : 0);
  const zeros = Array<string>(Math.max(0, 8 - head.length - tailGroups)).fill('0');
  return `${[...head, ...zeros, ...tail].slice(0, 4).map(group).join(':')}::/64`;
}

const group = (value: string): string => {
  const parsed = Number.parseInt(value, 16);
  return Number.isNaN(parsed) ? value : parsed.toString(16);
};
