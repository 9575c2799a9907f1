import ipaddr from 'ipaddr.js';

/** Verdict of the address policy for one address. */
export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Special-purpose ranges refused on top of what ipaddr.js classifies as non-unicast, so the policy
 * does not depend on one library's table being complete (IANA IPv4/IPv6 special-purpose registries).
 */
const EXTRA_DENIED: string[] = [
  '0.0.0.0/8', // "this network" (RFC 791)
  '100.64.0.0/10', // CGNAT (RFC 6598)
  '169.254.0.0/16', // link-local incl. cloud metadata 169.254.169.254 (RFC 3927)
  '192.0.0.0/24', // IETF protocol assignments (RFC 6890)
  '192.0.2.0/24', // TEST-NET-1 (RFC 5737)
  '192.88.99.0/24', // 6to4 relay anycast (RFC 7526)
  '198.18.0.0/15', // benchmarking (RFC 2544)
  '198.51.100.0/24', // TEST-NET-2 (RFC 5737)
  '203.0.113.0/24', // TEST-NET-3 (RFC 5737)
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved + broadcast
  '64:ff9b::/96', // NAT64 well-known prefix (RFC 6052): could reach IPv4 private space
  '64:ff9b:1::/48', // local-use NAT64 (RFC 8215)
  '100::/64', // discard-only (RFC 6666)
  '2001::/23', // IETF protocol assignments incl. Teredo 2001::/32 (RFC 2928, RFC 4380)
  '2001:db8::/32', // documentation (RFC 3849)
  '2002::/16', // 6to4 (RFC 3056): embeds an IPv4 address
  '3fff::/20', // documentation (RFC 9637)
  '5f00::/16', // SRv6 SIDs (RFC 9602)
  'fc00::/7', // unique local (RFC 4193)
  'fe80::/10', // link-local
  'fec0::/10', // deprecated site-local
  'ff00::/8', // multicast
];

/** ipaddr.js range names that are fine to connect to. */
const GLOBAL_RANGES = new Set(['unicast']);

function parseCidrs(list: readonly string[]): Cidr[] {
  return list.map((text) => ipaddr.parseCIDR(text) as Cidr);
}

function inAny(address: ipaddr.IPv4 | ipaddr.IPv6, cidrs: Cidr[]): boolean {
  return cidrs.some(([network, bits]) => address.kind() === network.kind() && address.match(network, bits));
}

/**
 * The single address policy every outbound connection passes (Security: targets are named by
 * untrusted input). Classifies parsed address bytes, never strings: only global unicast is
 * allowed, unless the address lies inside an operator-configured allow-list (PROBE_ALLOW_CIDRS).
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it maps to.
 */
export class AddressPolicy {
  readonly #allow: Cidr[];
  readonly #deny = parseCidrs(EXTRA_DENIED);

  constructor(allowCidrs: readonly string[] = []) {
    this.#allow = parseCidrs(allowCidrs);
  }

  check(address: string): AddressVerdict {
    let parsed: ipaddr.IPv4 | ipaddr.IPv6;
    try {
      // parse() (not process()) so that odd IPv4 notations like 0x7f.1 or 2130706433 are parsed
      // to the address they really denote, exactly as the socket layer would.
      parsed = ipaddr.parse(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
    } catch {
      return { allowed: false, reason: `not an IP address: ${address}` };
    }
    const forms: (ipaddr.IPv4 | ipaddr.IPv6)[] = [parsed];
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
      forms.push((parsed as ipaddr.IPv6).toIPv4Address());
    }
    if (forms.some((form) => inAny(form, this.#allow))) return { allowed: true };
    const judged = forms[forms.length - 1] as ipaddr.IPv4 | ipaddr.IPv6;
    const range = judged.range();
    if (!GLOBAL_RANGES.has(range)) return { allowed: false, reason: `${address} is in a ${range} range` };
    if (inAny(judged, this.#deny)) return { allowed: false, reason: `${address} is in a special-purpose range` };
    if (judged.kind() === 'ipv6' && !judged.match(ipaddr.parseCIDR('2000::/3') as Cidr)) {
      return { allowed: false, reason: `${address} is outside global unicast 2000::/3` };
    }
    return { allowed: true };
  }

  /** True when every address is allowed: if any address of a host is refused, the host is refused. */
  checkAll(addresses: readonly string[]): AddressVerdict {
    if (addresses.length === 0) return { allowed: false, reason: 'no addresses' };
    for (const address of addresses) {
      const verdict = this.check(address);
      if (!verdict.allowed) return verdict;
    }
    return { allowed: true };
  }
}
