import { BlockList, isIP } from 'node:net';

/**
 * `--trusted-proxy` (IPs or CIDRs) as a BlockList, built once per configured array: a
 * tenant's config inherits the server's array, so every tenant shares one list. Read by the
 * source address of failure counting (client-auth/source-address.ts: X-Forwarded-For) and by
 * tenant host selection (http/forwarded-host.ts: X-Forwarded-Host).
 */
const lists = new WeakMap<readonly string[], BlockList | undefined>();

function listOf(entries: readonly string[]): BlockList | undefined {
  if (lists.has(entries)) return lists.get(entries);
  let list: BlockList | undefined;
  if (entries.length > 0) {
    list = new BlockList();
    for (const entry of entries) {
      const [address, prefix] = entry.split('/');
      const family = isIP(address ?? '') === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) list.addAddress(address!, family);
      else list.addSubnet(address!, Number(prefix), family);
    }
  }
  lists.set(entries, list);
  return list;
}

/** Whether `address` (an IPv4-mapped IPv6 address counts as its IPv4) is a trusted proxy. */
export function isTrustedProxy(entries: readonly string[], address: string | undefined): boolean {
  const list = listOf(entries);
  if (list === undefined || address === undefined) return false;
  const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return list.check(plain, isIP(plain) === 6 ? 'ipv6' : 'ipv4');
}
