import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressPolicy } from '../../src/net/policy.js';

/** Every address here must be refused by the default policy (no allow-list). */
const REFUSED: [string, string][] = [
  ['0.0.0.0', 'this network'],
  ['0.1.2.3', 'this network 0/8'],
  ['10.0.0.1', 'RFC 1918'],
  ['10.255.255.255', 'RFC 1918'],
  ['172.16.0.1', 'RFC 1918'],
  ['172.31.255.254', 'RFC 1918'],
  ['192.168.1.1', 'RFC 1918'],
  ['100.64.0.1', 'CGNAT'],
  ['100.127.255.254', 'CGNAT'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['169.254.169.254', 'cloud metadata'],
  ['169.254.0.1', 'link-local'],
  ['192.0.0.8', 'IETF protocol assignments'],
  ['192.0.2.1', 'TEST-NET-1'],
  ['192.88.99.1', '6to4 relay anycast'],
  ['198.18.0.1', 'benchmarking'],
  ['198.19.255.255', 'benchmarking'],
  ['198.51.100.7', 'TEST-NET-2'],
  ['203.0.113.9', 'TEST-NET-3'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'broadcast'],
  // Odd IPv4 notations denote the same bytes and must be judged as such.
  ['0x7f.1', 'hex loopback'],
  ['0x7f000001', 'hex integer loopback'],
  ['2130706433', 'decimal integer loopback'],
  ['0177.0.0.1', 'octal loopback'],
  ['127.1', 'short loopback'],
  ['0xa9.0xfe.0xa9.0xfe', 'hex metadata'],
  ['012.0.0.1', 'octal 10.0.0.1'],
  // IPv6.
  ['::', 'unspecified'],
  ['::1', 'loopback'],
  ['[::1]', 'bracketed loopback'],
  ['::ffff:127.0.0.1', 'IPv4-mapped loopback'],
  ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
  ['::ffff:10.0.0.1', 'IPv4-mapped RFC 1918'],
  ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
  ['::127.0.0.1', 'IPv4-compatible loopback'],
  ['::ffff:0:7f00:1', 'SIIT / RFC 6145'],
  ['64:ff9b::7f00:1', 'NAT64 of loopback'],
  ['64:ff9b::a9fe:a9fe', 'NAT64 of metadata'],
  ['64:ff9b:1::1', 'local-use NAT64'],
  ['2002:7f00:1::1', '6to4 of loopback'],
  ['2002:0a00:0001::1', '6to4 of RFC 1918'],
  ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo'],
  ['2001:db8::1', 'documentation'],
  ['3fff::1', 'documentation RFC 9637'],
  ['100::1', 'discard-only'],
  ['2001:10::1', 'ORCHID'],
  ['2001:20::1', 'ORCHIDv2'],
  ['5f00::1', 'SRv6 SIDs'],
  ['fc00::1', 'unique local'],
  ['fd12:3456:789a::1', 'unique local'],
  ['fe80::1', 'link-local'],
  ['fe80::1%eth0', 'link-local with zone'],
  ['fec0::1', 'site-local'],
  ['ff02::1', 'multicast'],
  ['4000::1', 'outside 2000::/3'],
  // Not addresses at all.
  ['localhost', 'a name'],
  ['', 'empty'],
  ['1.2.3.4.5', 'five parts'],
  ['1.2.3.256', 'octet over 255'],
];

const ALLOWED: string[] = ['1.1.1.1', '8.8.8.8', '93.184.215.14', '100.63.255.255', '100.128.0.1', '172.15.255.255', '172.32.0.1', '2606:4700:4700::1111', '2a00:1450:4001:81b::200e', '::ffff:8.8.8.8'];

describe('AddressPolicy (default: global unicast only)', () => {
  const policy = new AddressPolicy();
  for (const [address, why] of REFUSED) {
    it(`refuses ${address || '(empty)'} (${why})`, () => {
      const verdict = policy.check(address);
      assert.equal(verdict.allowed, false, `${address} should be refused`);
      if (!verdict.allowed) assert.ok(verdict.reason.length > 0);
    });
  }
  for (const address of ALLOWED) {
    it(`allows ${address}`, () => assert.equal(policy.check(address).allowed, true));
  }

  it('refuses a host when any one of its addresses is refused', () => {
    assert.equal(policy.checkAll(['8.8.8.8', '10.0.0.1']).allowed, false);
    assert.equal(policy.checkAll(['8.8.8.8', '::1']).allowed, false);
    assert.equal(policy.checkAll([]).allowed, false);
    assert.deepEqual(policy.checkAll(['8.8.8.8', '1.1.1.1']), { allowed: true, addresses: ['8.8.8.8', '1.1.1.1'] });
  });
});

describe('AddressPolicy with PROBE_ALLOW_CIDRS', () => {
  const policy = new AddressPolicy(['127.0.1.0/24', 'fd00:1::/64']);

  it('allows addresses inside the allow-list, in any notation', () => {
    for (const address of ['127.0.1.10', '127.0.1.255', '::ffff:127.0.1.10', 'fd00:1::5']) {
      assert.equal(policy.check(address).allowed, true, address);
    }
  });

  it('still refuses everything outside it', () => {
    for (const address of ['127.0.0.1', '127.0.2.1', '0x7f.1', '2130706433', '::1', 'fd00:2::1', '10.0.0.1', '169.254.169.254']) {
      assert.equal(policy.check(address).allowed, false, address);
    }
  });
});

/** Writes one IPv6 address (given as eight hextets) in several notations a DNS answer or URL may use. */
function notations(parts: number[], options: { dottedTail?: boolean } = {}): string[] {
  const hex = parts.map((part) => part.toString(16));
  const full = parts.map((part) => part.toString(16).padStart(4, '0'));
  // Compressed: the longest run of zero hextets becomes `::`.
  let best = { start: -1, length: 0 };
  for (let start = 0; start < 8; start += 1) {
    let length = 0;
    while (start + length < 8 && parts[start + length] === 0) length += 1;
    if (length > best.length) best = { start, length };
  }
  const compress = (list: string[]) =>
    best.length < 2 ? list.join(':') : `${list.slice(0, best.start).join(':')}::${list.slice(best.start + best.length).join(':')}`;
  const forms = [compress(hex), full.join(':'), hex.join(':'), compress(hex).toUpperCase(), `${compress(hex)}%eth0`, `[${compress(hex)}]`];
  if (options.dottedTail) {
    const high = parts[6] ?? 0;
    const low = parts[7] ?? 0;
    const dotted = `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
    const head = hex.slice(0, 6);
    const headCompressed = best.length >= 2 && best.start + best.length <= 6
      ? `${head.slice(0, best.start).join(':')}::${head.slice(best.start + best.length).join(':')}`.replace(/::$/, '::')
      : head.join(':');
    const mixed = headCompressed.endsWith('::') ? `${headCompressed}${dotted}` : `${headCompressed}:${dotted}`;
    forms.push(mixed, `${full.slice(0, 6).join(':')}:${dotted}`, mixed.toUpperCase(), `${mixed}%eth0`);
  }
  return forms;
}

const EIGHT = [0x0808, 0x0808]; // 8.8.8.8, a public IPv4 address
const LOOP = [0x7f00, 0x0801]; // 127.0.8.1
const PRIVATE = [0x0a00, 0x0001]; // 10.0.0.1

describe('AddressPolicy: IPv6 forms that embed an IPv4 address (judged by the bytes the socket uses)', () => {
  const policy = new AddressPolicy();
  const allowLoopback = new AddressPolicy(['127.0.8.0/24']);

  it('the notation helper writes what it should', () => {
    assert.deepEqual(notations([0, 0, 0, 0, 0, 0, ...EIGHT], { dottedTail: true }), [
      '::808:808', '0000:0000:0000:0000:0000:0000:0808:0808', '0:0:0:0:0:0:808:808', '::808:808', '::808:808%eth0', '[::808:808]',
      '::8.8.8.8', '0000:0000:0000:0000:0000:0000:8.8.8.8', '::8.8.8.8', '::8.8.8.8%eth0',
    ]);
  });

  it('refuses IPv4-compatible ::/96 (RFC 4291 §2.5.5.1) in every notation, even of a public IPv4 address', () => {
    for (const address of notations([0, 0, 0, 0, 0, 0, ...EIGHT], { dottedTail: true })) {
      assert.equal(policy.check(address).allowed, false, address);
    }
  });

  it('refuses IPv4-compatible ::/96 even when its IPv4 address is allow-listed (the socket would not go there)', () => {
    for (const address of notations([0, 0, 0, 0, 0, 0, ...LOOP], { dottedTail: true })) {
      assert.equal(allowLoopback.check(address).allowed, false, address);
    }
  });

  it('judges IPv4-mapped ::ffff:0:0/96 as its IPv4 address and hands that IPv4 address to the socket', () => {
    for (const address of notations([0, 0, 0, 0, 0, 0xffff, ...EIGHT], { dottedTail: true })) {
      assert.deepEqual(policy.check(address), { allowed: true, address: '8.8.8.8' }, address);
    }
    for (const address of notations([0, 0, 0, 0, 0, 0xffff, ...LOOP], { dottedTail: true })) {
      assert.equal(policy.check(address).allowed, false, address);
      assert.deepEqual(allowLoopback.check(address), { allowed: true, address: '127.0.8.1' }, address);
    }
    for (const address of notations([0, 0, 0, 0, 0, 0xffff, ...PRIVATE], { dottedTail: true })) {
      assert.equal(policy.check(address).allowed, false, address);
    }
  });

  const alwaysRefused: [string, number[]][] = [
    ['IPv4-translated ::ffff:0:0:0/96 (RFC 6145)', [0, 0, 0, 0, 0xffff, 0, ...EIGHT]],
    ['NAT64 64:ff9b::/96 (RFC 6052)', [0x64, 0xff9b, 0, 0, 0, 0, ...EIGHT]],
    ['local-use NAT64 64:ff9b:1::/48 (RFC 8215)', [0x64, 0xff9b, 1, 0, 0, 0, ...EIGHT]],
    ['6to4 2002::/16 (RFC 3056)', [0x2002, ...EIGHT, 0, 0, 0, 0, 1]],
    ['Teredo 2001::/32 (RFC 4380)', [0x2001, 0, 0x4136, 0xe378, 0x8000, 0x63bf, 0x3fff, 0xfdd2]],
  ];
  for (const [name, parts] of alwaysRefused) {
    it(`refuses ${name} in every notation, whatever IPv4 address it embeds`, () => {
      for (const address of notations(parts, { dottedTail: parts[0] !== 0x2002 && parts[0] !== 0x2001 })) {
        assert.equal(policy.check(address).allowed, false, address);
        assert.equal(allowLoopback.check(address).allowed, false, address);
      }
    });
  }

  it('refuses an ISATAP interface id (RFC 5214) of a refused IPv4 address, and allows one of a public address', () => {
    for (const marker of [0x0000, 0x0200]) {
      for (const address of notations([0x2a00, 0x1450, 0x4001, 0x81b, marker, 0x5efe, ...PRIVATE], { dottedTail: true })) {
        assert.equal(policy.check(address).allowed, false, address);
      }
      for (const address of notations([0x2a00, 0x1450, 0x4001, 0x81b, marker, 0x5efe, ...EIGHT], { dottedTail: true })) {
        assert.equal(policy.check(address).allowed, true, address);
      }
    }
  });

  it('hands the socket the canonical text of the judged bytes', () => {
    assert.deepEqual(policy.check('2A00:1450:4001:081B:0000:0000:0000:200E'), { allowed: true, address: '2a00:1450:4001:81b::200e' });
    assert.deepEqual(policy.check('[2606:4700:4700::1111]'), { allowed: true, address: '2606:4700:4700::1111' });
    assert.deepEqual(policy.check('2a00:1450::5efe:8.8.8.8%eth0'), { allowed: true, address: '2a00:1450::5efe:808:808' });
  });
});
