import ipaddr from 'ipaddr.js';

/**
 * The key per-client limits count under: an IPv4 address (IPv4-mapped IPv6 unwrapped), or the /64
 * of an IPv6 address. Security: one IPv6 subscriber usually holds a whole /64, so keying by the
 * full address would give one client 2^64 allowances. Anything unparsable is its own key.
 */
export function clientKey(address: string | undefined): string {
  if (!address) return 'unknown';
  return addressKey(address);
}

/**
 * The key per-address budgets count under (clients, and the targets of outbound connections): an
 * IPv4 address (IPv4-mapped IPv6 unwrapped), or the /64 of an IPv6 address; brackets and a zone id
 * are ignored. Anything unparsable is its own key.
 */
export function addressKey(address: string): string {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  let parsed: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    parsed = ipaddr.parse(bare);
  } catch {
    return `?${address.toLowerCase()}`;
  }
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) return v6.toIPv4Address().toString();
    const parts = v6.parts.slice(0, 4).concat([0, 0, 0, 0]);
    return `${new ipaddr.IPv6(parts).toString()}/64`;
  }
  return parsed.toString();
}
