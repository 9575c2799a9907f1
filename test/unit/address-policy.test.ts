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
    it(`allows ${address}`, () => assert.deepEqual(policy.check(address), { allowed: true }));
  }

  it('refuses a host when any one of its addresses is refused', () => {
    assert.equal(policy.checkAll(['8.8.8.8', '10.0.0.1']).allowed, false);
    assert.equal(policy.checkAll(['8.8.8.8', '::1']).allowed, false);
    assert.equal(policy.checkAll([]).allowed, false);
    assert.deepEqual(policy.checkAll(['8.8.8.8', '1.1.1.1']), { allowed: true });
  });
});

describe('AddressPolicy with PROBE_ALLOW_CIDRS', () => {
  const policy = new AddressPolicy(['127.0.1.0/24', 'fd00:1::/64']);

  it('allows addresses inside the allow-list, in any notation', () => {
    for (const address of ['127.0.1.10', '127.0.1.255', '::ffff:127.0.1.10', 'fd00:1::5']) {
      assert.deepEqual(policy.check(address), { allowed: true }, address);
    }
  });

  it('still refuses everything outside it', () => {
    for (const address of ['127.0.0.1', '127.0.2.1', '0x7f.1', '2130706433', '::1', 'fd00:2::1', '10.0.0.1', '169.254.169.254']) {
      assert.equal(policy.check(address).allowed, false, address);
    }
  });
});
