import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Verdict of the address policy for one address. When allowed, `address` is the canonical text of
 * the judged bytes: the only form a socket may be given (Security: never the original text).
 */
export type AddressVerdict = { allowed: true; address: string } | { allowed: false; reason: string };

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
  '::/96', // IPv4-compatible (deprecated, RFC 4291 §2.5.5.1): not the IPv4 address it looks like
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

const GLOBAL_UNICAST = ipaddr.parseCIDR('2000::/3') as Cidr;

/** ipaddr.js range names that are fine to connect to. */
const GLOBAL_RANGES = new Set(['unicast']);

function parseCidrs(list: readonly string[]): Cidr[] {
  return list.map((text) => {
    // The network is read by the same byte parser as targets (ipaddr.parseCIDR would misread `::a.b.c.d/n`).
    const [network, bits, ...rest] = text.split('/');
    const parsed = parseAddress(network ?? '');
    const length = Number(bits);
    const max = parsed?.kind() === 'ipv6' ? 128 : 32;
    if (!parsed || rest.length > 0 || !/^\d{1,3}$/.test(bits ?? '') || length > max) throw new Error(`invalid CIDR ${text}`);
    return [parsed, length];
  });
}

function inAny(address: ipaddr.IPv4 | ipaddr.IPv6, cidrs: Cidr[]): boolean {
  return cidrs.some(([network, bits]) => address.kind() === network.kind() && address.match(network, bits));
}

/** ISATAP interface ids (RFC 5214 §6.1): `[0|2]00:5efe:a.b.c.d` in the low 64 bits of any prefix. */
function isatapIpv4(address: ipaddr.IPv6): ipaddr.IPv4 | null {
  const parts = address.parts;
  if (((parts[4] ?? 1) & 0xfcff) !== 0 || parts[5] !== 0x5efe) return null;
  const high = parts[6] ?? 0;
  const low = parts[7] ?? 0;
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/**
 * Parses address text to the bytes a socket would use. Security: ipaddr.js reads an IPv6 text with
 * a dotted tail (`::8.8.8.8`) as IPv4-mapped `::ffff:8.8.8.8`, while the socket connects to the
 * IPv4-compatible `::808:808`; so IPv6 text is first canonicalised by the WHATWG URL host parser
 * (same bytes as inet_pton), and ipaddr.js only ever sees pure hexadecimal IPv6. A zone id (`%eth0`)
 * names an interface, not address bytes, and is dropped.
 */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = text.replace(/^\[(.*)\]$/, '$1').replace(/%[^%]*$/, '');
  if (!bare.includes(':')) {
    try {
      // parse() (not process()) so that odd IPv4 notations like 0x7f.1 or 2130706433 are parsed
      // to the address they really denote, exactly as getaddrinfo would.
      return ipaddr.IPv4.parse(bare);
    } catch {
      return null;
    }
  }
  if (!/^[0-9a-f:.]+$/i.test(bare) || isIP(bare) !== 6) return null;
  try {
    const hostname = new URL(`http://[${bare}]/`).hostname;
    return ipaddr.IPv6.parse(hostname.slice(1, -1));
  } catch {
    return null;
  }
}

/**
 * The single address policy every outbound connection passes (Security: targets are named by
 * untrusted input). Classifies parsed address bytes, never strings: only global unicast is
 * allowed, unless the address lies inside an operator-configured allow-list (PROBE_ALLOW_CIDRS).
 * IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged, and connected to, as the IPv4 address it maps to;
 * every other IPv6 form that embeds an IPv4 address (IPv4-compatible ::/96, SIIT ::ffff:0:0:0/96,
 * NAT64, 6to4, Teredo) is refused, and an ISATAP interface id is refused when its IPv4 address is.
 */
export class AddressPolicy {
  readonly #allow: Cidr[];
  readonly #deny = parseCidrs(EXTRA_DENIED);

  constructor(allowCidrs: readonly string[] = []) {
    this.#allow = parseCidrs(allowCidrs);
  }

  check(address: string): AddressVerdict {
    const parsed = parseAddress(address);
    if (!parsed) return { allowed: false, reason: `not an IP address: ${address}` };
    // The bytes the socket will be given: a mapped address becomes the IPv4 address it denotes.
    const judged = parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress() ? (parsed as ipaddr.IPv6).toIPv4Address() : parsed;
    if (inAny(parsed, this.#allow)) return { allowed: true, address: judged.toString() };
    const verdict = this.#judge(judged, address);
    if (!verdict.allowed) return verdict;
    if (judged.kind() === 'ipv6') {
      const embedded = isatapIpv4(judged as ipaddr.IPv6);
      if (embedded && !this.#judge(embedded, address).allowed) {
        return { allowed: false, reason: `${address} is an ISATAP address of a refused IPv4 address` };
      }
    }
    return verdict;
  }

  #judge(judged: ipaddr.IPv4 | ipaddr.IPv6, address: string): AddressVerdict {
    const canonical = judged.toString();
    if (inAny(judged, this.#allow)) return { allowed: true, address: canonical };
    const range = judged.range();
    if (!GLOBAL_RANGES.has(range)) return { allowed: false, reason: `${address} is in a ${range} range` };
    if (inAny(judged, this.#deny)) return { allowed: false, reason: `${address} is in a special-purpose range` };
    if (judged.kind() === 'ipv6' && !judged.match(GLOBAL_UNICAST)) {
      return { allowed: false, reason: `${address} is outside global unicast 2000::/3` };
    }
    return { allowed: true, address: canonical };
  }

  /** True when every address is allowed: if any address of a host is refused, the host is refused. */
  checkAll(addresses: readonly string[]): { allowed: true; addresses: string[] } | { allowed: false; reason: string } {
    if (addresses.length === 0) return { allowed: false, reason: 'no addresses' };
    const cleared: string[] = [];
    for (const address of addresses) {
      const verdict = this.check(address);
      if (!verdict.allowed) return verdict;
      cleared.push(verdict.address);
    }
    return { allowed: true, addresses: cleared };
  }
}
