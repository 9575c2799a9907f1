import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientKey } from '../../src/net/client-key.js';
import { FailedZones, zoneOf } from '../../src/net/failed-zones.js';

describe('FailedZones (zones whose DNS servers do not answer)', () => {
  it('charges a name to its registrable domain, private suffixes included', () => {
    assert.equal(zoneOf('_imaps._tcp.mail.example.co.uk.'), 'example.co.uk');
    assert.equal(zoneOf('autoconfig.a.blackhole.test'), 'blackhole.test');
    assert.equal(zoneOf('x.someone.github.io'), 'someone.github.io');
    assert.equal(zoneOf('co.uk'), 'co.uk');
  });

  it('remembers a failing zone for its lifetime, then asks again', () => {
    let now = 1_000;
    const zones = new FailedZones(60_000, () => now);
    zones.failed('_imaps._tcp.a.blackhole.test', 'timeout', 'ETIMEOUT');
    const known = zones.check('autoconfig.b.blackhole.test');
    assert.deepEqual(known, { zone: 'blackhole.test', kind: 'timeout', code: 'ETIMEOUT', remainingMs: 60_000 });
    assert.equal(zones.check('other.test'), undefined);
    now += 60_000;
    assert.equal(zones.check('b.blackhole.test'), undefined);
  });

  it('never cuts off a zone that answered lately (servers that drop one query type)', () => {
    let now = 0;
    const zones = new FailedZones(60_000, () => now);
    zones.answered('autoconfig.partial.test');
    now += 2_000;
    zones.failed('_imaps._tcp.partial.test', 'timeout', 'ETIMEOUT');
    assert.equal(zones.check('_imap._tcp.partial.test'), undefined);
    now += 60_000;
    zones.failed('_imaps._tcp.partial.test', 'error', 'ESERVFAIL');
    assert.equal(zones.check('_imap._tcp.partial.test')?.code, 'ESERVFAIL', 'an answer older than the lifetime no longer protects it');
    zones.answered('partial.test');
    assert.equal(zones.check('_imap._tcp.partial.test'), undefined, 'an answer clears the memory at once');
  });

  it('is off with a lifetime of 0, and bounded in size', () => {
    const off = new FailedZones(0);
    off.failed('a.b.test', 'timeout', 'ETIMEOUT');
    assert.equal(off.check('a.b.test'), undefined);
    const small = new FailedZones(60_000, Date.now, 2);
    for (const zone of ['one.test', 'two.test', 'three.test']) small.failed(zone, 'timeout', 'ETIMEOUT');
    assert.equal(small.check('one.test'), undefined, 'the oldest entry went first');
    assert.equal(small.check('three.test')?.zone, 'three.test');
  });
});

describe('clientKey (what per-client limits count under)', () => {
  it('unwraps IPv4-mapped addresses and groups IPv6 by /64', () => {
    assert.equal(clientKey('127.0.9.7'), '127.0.9.7');
    assert.equal(clientKey('::ffff:127.0.9.7'), '127.0.9.7');
    assert.equal(clientKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
    assert.equal(clientKey('2001:db8:1:2:bbbb::9'), '2001:db8:1:2::/64');
    assert.equal(clientKey(undefined), 'unknown');
  });
});
