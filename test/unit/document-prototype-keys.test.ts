import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAutodiscoverXml } from '../../src/formats/autodiscover-xml.js';
import { parseAutoconfigXml } from '../../src/formats/autoconfig-xml.js';

// Counterexamples found by the fuzz suite (test/fuzz/): document text used as a key of a plain
// lookup table found inherited properties (`constructor` is Object itself), so a server came back
// with a function as its security or kind, or the Autodiscover reader threw.
describe('document values that name Object.prototype properties', () => {
  it('autoconfig: a socketType of "constructor" is not a supported socketType', () => {
    const result = parseAutoconfigXml(
      '<clientConfig><emailProvider><incomingServer type="imap"><hostname>imap.example.com</hostname><port>993</port><socketType>constructor</socketType></incomingServer></emailProvider></clientConfig>',
    );
    assert.ok(result.ok);
    assert.deepEqual(result.data.incoming, []);
    assert.match(result.dropped[0] ?? '', /no supported socketType/);
  });

  it('autoconfig: a server of type "constructor" or "toString" is dropped as unsupported', () => {
    const result = parseAutoconfigXml(
      '<clientConfig><emailProvider><incomingServer type="constructor"><url>https://example.com/help</url></incomingServer><outgoingServer type="toString"><hostname>smtp.example.com</hostname><port>465</port><socketType>SSL</socketType></outgoingServer></emailProvider></clientConfig>',
    );
    assert.ok(result.ok);
    assert.deepEqual(result.data.urlServers, []);
    assert.deepEqual(result.data.incoming, []);
    assert.deepEqual(result.data.outgoing, []);
    assert.deepEqual(result.dropped, ['incoming server of type "constructor" is not supported', 'outgoing server of type "tostring" is not supported']);
  });

  it('autoconfig: an authentication of "hasOwnProperty" is not supported', () => {
    const result = parseAutoconfigXml(
      '<clientConfig><emailProvider><incomingServer type="imap"><hostname>imap.example.com</hostname><port>993</port><socketType>SSL</socketType><authentication>hasOwnProperty</authentication></incomingServer></emailProvider></clientConfig>',
    );
    assert.ok(result.ok);
    assert.deepEqual(result.data.incoming, []);
    assert.match(result.dropped[0] ?? '', /no supported authentication/);
  });

  const autodiscover = (protocol: string) =>
    `<Autodiscover><Response><Account><AccountType>email</AccountType><Action>settings</Action><Protocol>${protocol}</Protocol></Account></Response></Autodiscover>`;

  it('autodiscover: a Protocol of Type "constructor" is dropped instead of throwing', () => {
    const result = parseAutodiscoverXml(autodiscover('<Type>constructor</Type><Server>imap.example.com</Server><Port>993</Port>'), { address: 'a@example.com' });
    assert.ok(result.ok && result.action === 'settings');
    assert.deepEqual(result.servers, []);
    assert.deepEqual(result.dropped, ['Protocol of type "constructor" is not supported']);
  });

  it('autodiscover: an Encryption of "constructor" is an unknown value', () => {
    const result = parseAutodiscoverXml(autodiscover('<Type>IMAP</Type><Server>imap.example.com</Server><Port>2000</Port><Encryption>constructor</Encryption>'), {
      address: 'a@example.com',
    });
    assert.ok(result.ok && result.action === 'settings');
    assert.deepEqual(result.servers, []);
    assert.match(result.dropped[0] ?? '', /unknown Encryption value/);
  });
});
