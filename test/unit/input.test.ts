import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normaliseDomain, parseEmail, parseLookupInput, renderUsername } from '../../src/api/input.js';

describe('lookup input', () => {
  it('accepts an address and lower-cases its domain only', () => {
    const result = parseEmail('Jane.Doe@Example.COM');
    assert.ok(result.ok);
    assert.equal(result.subject.domain, 'example.com');
    assert.equal(result.subject.email, 'Jane.Doe@example.com');
    assert.equal(result.subject.localPart, 'Jane.Doe');
  });

  it('converts internationalised domains to punycode', () => {
    const result = parseEmail('jane@bücher.de');
    assert.ok(result.ok);
    assert.equal(result.subject.domain, 'xn--bcher-kva.de');
    const domain = normaliseDomain('MÜNCHEN.de');
    assert.deepEqual(domain, { ok: true, domain: 'xn--mnchen-3ya.de' });
  });

  it('accepts a trailing dot on a domain', () => {
    assert.deepEqual(normaliseDomain('gmail.com.'), { ok: true, domain: 'gmail.com' });
  });

  const badAddresses: [string, RegExp][] = [
    ['a@@b.com', /more than one @/],
    ['a@b@c.com', /more than one @/],
    ['@gmail.com', /empty local part/],
    ['nobody', /needs an @/],
    ['jane@127.0.0.1', /IP address/],
    ['jane@[::1]', /IP address/],
    ['jane@[127.0.0.1]', /IP address/],
    ['jane@localhost', /single-label/],
    ['jane@mailserver', /single-label/],
    ['jane doe@gmail.com', /spaces/],
    ['jane@-gmail.com', /letters, digits and inner hyphens/],
    ['jane@gmail-.com', /letters, digits and inner hyphens/],
    [`jane@${'a'.repeat(64)}.com`, /longer than 63/],
    ['jane@printer.local', /not public/],
    [`${'x'.repeat(65)}@gmail.com`, /longer than 64/],
  ];
  for (const [input, message] of badAddresses) {
    it(`refuses ${JSON.stringify(input.slice(0, 40))}`, () => {
      const result = parseEmail(input);
      assert.equal(result.ok, false);
      assert.match((result as { message: string }).message, message);
    });
  }

  it('refuses names over 253 characters', () => {
    const name = `${Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')}.com`;
    assert.ok(name.length > 253);
    const result = normaliseDomain(name);
    assert.equal(result.ok, false);
    assert.match((result as { message: string }).message, /253/);
  });

  it('refuses a bare IPv6 or decimal IPv4 domain', () => {
    for (const value of ['::1', '2130706433', '10.0.0.1', '1.2.3.4.']) {
      assert.equal(normaliseDomain(value).ok, false, value);
    }
  });

  it('needs exactly one of email and domain', () => {
    assert.equal(parseLookupInput({}).ok, false);
    assert.equal(parseLookupInput({ email: 'a@gmail.com', domain: 'gmail.com' }).ok, false);
    assert.equal(parseLookupInput({ domain: 'gmail.com' }).ok, true);
    assert.equal(parseLookupInput({ domain: '' }).ok, false);
  });

  it('renders username templates for an address and keeps them for a domain', () => {
    const subject = { domain: 'example.com', email: 'jane@example.com', localPart: 'jane' };
    assert.equal(renderUsername('%EMAILADDRESS%', subject), 'jane@example.com');
    assert.equal(renderUsername('%EMAILLOCALPART%+%EMAILDOMAIN%', subject), 'jane+example.com');
    assert.equal(renderUsername('%EMAILADDRESS%', { domain: 'example.com', email: null, localPart: null }), '%EMAILADDRESS%');
  });
});
