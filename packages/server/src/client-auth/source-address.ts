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
