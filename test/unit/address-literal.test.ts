import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressLiteral } from '../../src/probes/check-server.js';

describe('addressLiteral (the SMTP EHLO/HELO name of a check)', () => {
  it('writes IPv4 as [a.b.c.d] and IPv6 with the IPv6: tag of RFC 5321 §4.1.3', () => {
    assert.equal(addressLiteral('192.0.2.1'), '[192.0.2.1]');
    assert.equal(addressLiteral('2001:db8::1'), '[IPv6:2001:db8::1]');
    assert.equal(addressLiteral('::1'), '[IPv6:::1]');
  });
});
