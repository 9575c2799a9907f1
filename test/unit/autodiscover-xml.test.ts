import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { XMLParser } from 'fast-xml-parser';
import { buildAutodiscoverRequest, parseAutodiscoverXml, type AutodiscoverParseResult } from '../../src/formats/autodiscover-xml.js';
import { ENTITY_BOMB } from '../helpers/autoconfig-docs.js';

const ADDRESS = 'jane.doe@example.test';
const RESPONSE_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';

const doc = (account: string) => `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="${RESPONSE_NS}"><Account>${account}</Account></Response>
</Autodiscover>`;
const settings = (protocols: string) => doc(`<AccountType>email</AccountType><Action>settings</Action>${protocols}`);
const protocol = (type: string, fields: string) => `<Protocol><Type>${type}</Type>${fields}</Protocol>`;
const imap = (fields: string) => protocol('IMAP', `<Server>imap.example.test</Server>${fields}`);

const parse = (xml: string, address = ADDRESS) => parseAutodiscoverXml(xml, { address });
type Settings = Extract<AutodiscoverParseResult, { action: 'settings' }>;
const settingsOf = (xml: string, address = ADDRESS): Settings => {
  const result = parse(xml, address);
  assert.ok(result.ok && result.action === 'settings', JSON.stringify(result));
  return result;
};

describe('buildAutodiscoverRequest', () => {
  it('builds the POX request with the 2006a response schema and escapes the address for XML', () => {
    const body = buildAutodiscoverRequest(`a&b<c>"'@example.test`);
    assert.match(body, /<Autodiscover xmlns="http:\/\/schemas\.microsoft\.com\/exchange\/autodiscover\/outlook\/requestschema\/2006">/);
    assert.match(body, /<AcceptableResponseSchema>http:\/\/schemas\.microsoft\.com\/exchange\/autodiscover\/outlook\/responseschema\/2006a<\/AcceptableResponseSchema>/);
    assert.match(body, /<EMailAddress>a&amp;b&lt;c&gt;&quot;&apos;@example\.test<\/EMailAddress>/);
    // Read back by a real XML parser, the address is exactly what was given.
    const parsed = new XMLParser({ processEntities: true }).parse(body) as { Autodiscover: { Request: { EMailAddress: string } } };
    assert.equal(parsed.Autodiscover.Request.EMailAddress, `a&b<c>"'@example.test`);
  });
});

describe('parseAutodiscoverXml: hostile and wrong input', () => {
  it('refuses a DOCTYPE before parsing', () => {
    const result = parse(`<?xml version="1.0"?><!DOCTYPE Autodiscover SYSTEM "file:///etc/passwd">${settings('')}`);
    assert.deepEqual(result.ok ? null : result.error, 'doctype_refused');
  });

  it('refuses an entity bomb without expanding it', () => {
    const result = parse(ENTITY_BOMB.replaceAll('clientConfig', 'Autodiscover'));
    assert.equal(result.ok ? null : result.error, 'doctype_refused');
  });

  it('refuses a lone ENTITY declaration', () => {
    const result = parse(`<!ENTITY x "y">${settings('')}`);
    assert.equal(result.ok ? null : result.error, 'doctype_refused');
  });

  it('reports malformed XML with a stable code', () => {
    const result = parse('<Autodiscover><Response><Account>');
    assert.equal(result.ok ? null : result.error, 'malformed_xml');
  });

  it('refuses a document with another root as not_autodiscover', () => {
    const result = parse('<clientConfig><emailProvider/></clientConfig>');
    assert.equal(result.ok ? null : result.error, 'not_autodiscover');
  });

  it('refuses an HTML page as not_autodiscover', () => {
    const result = parse('<html><body><p>Welcome</p></body></html>');
    assert.equal(result.ok ? null : result.error, 'not_autodiscover');
  });

  it('reads an Autodiscover error response as autodiscover_error with its code', () => {
    const xml = `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response><Error Time="1" Id="2"><ErrorCode>600</ErrorCode><Message>Invalid Request</Message></Error></Response></Autodiscover>`;
    const result = parse(xml);
    assert.ok(!result.ok);
    assert.equal(result.error, 'autodiscover_error');
    assert.match(result.message, /600: Invalid Request/);
  });

  it('refuses an AccountType other than email', () => {
    const result = parse(doc('<AccountType>mobile</AccountType><Action>settings</Action>'));
    assert.equal(result.ok ? null : result.error, 'unsupported_account');
  });

  it('refuses a 300 KB document of repeated sections as too complex, without parsing it', () => {
    const many = Array.from({ length: 4000 }, (_, index) => imap(`<Port>${(index % 1000) + 1000}</Port>`)).join('');
    const xml = settings(many);
    assert.ok(xml.length > 300 * 1024);
    const result = parse(xml);
    assert.equal(result.ok ? null : result.error, 'too_complex');
  });

  it('reads at most 32 Protocol sections, and keeps at most 10 servers per protocol of them', () => {
    // 60 sections stay under the element cap (400), so the section cap is what applies.
    const many = Array.from({ length: 60 }, (_, index) => imap(`<Port>${index + 1000}</Port>`)).join('');
    const result = settingsOf(settings(many));
    assert.equal(result.servers.length, 10);
    assert.ok(result.dropped.some((reason) => /28 Protocol section\(s\) beyond 32 ignored/.test(reason)));
    assert.ok(result.dropped.some((reason) => /22 imap server\(s\) beyond the first 10 per protocol dropped/.test(reason)));
  });

  it('treats an over-long value as absent (the section is dropped)', () => {
    const result = settingsOf(settings(protocol('IMAP', `<Server>${'a'.repeat(3000)}.example.test</Server><Port>993</Port>`)));
    assert.equal(result.servers.length, 0);
    assert.match(result.dropped[0] ?? '', /no valid Server/);
  });

  for (const port of ['0', '65536', '-1', 'abc', '', '99999999999', '1.5', '0x3e1']) {
    it(`drops a Protocol with Port "${port}" but keeps the others`, () => {
      const result = settingsOf(settings(imap(`<Port>${port}</Port>`) + protocol('POP3', '<Server>pop.example.test</Server><Port>995</Port>')));
      assert.deepEqual(result.servers.map((server) => server.protocol), ['pop3']);
      assert.match(result.dropped[0] ?? '', /no valid Port/);
    });
  }

  for (const server of ['127.0.0.1', 'http://evil.test/', 'a b.test', 'evil.test/x', 'localhost', '']) {
    it(`drops a Protocol with Server "${server}"`, () => {
      const result = settingsOf(settings(protocol('IMAP', `<Server>${server}</Server><Port>993</Port>`)));
      assert.equal(result.servers.length, 0);
      assert.equal(result.dropped.length, 1);
    });
  }

  for (const [element, value] of [['Encryption', 'STARTTLS'], ['Encryption', 'maybe'], ['SSL', 'yes'], ['SPA', 'true'], ['AuthRequired', '1']] as const) {
    it(`drops a Protocol with an unknown ${element} value "${value}" instead of guessing`, () => {
      const result = settingsOf(settings(imap(`<Port>993</Port><${element}>${value}</${element}>`)));
      assert.equal(result.servers.length, 0);
      assert.match(result.dropped[0] ?? '', new RegExp(`unknown ${element} value`));
    });
  }

  it('drops Protocol types it does not know and says so', () => {
    const result = settingsOf(settings(protocol('NNTP', '<Server>news.example.test</Server><Port>119</Port>')));
    assert.equal(result.servers.length, 0);
    assert.match(result.dropped[0] ?? '', /"nntp" is not supported/);
  });
});

describe('parseAutodiscoverXml: repeated elements', () => {
  it('takes the first supported value of a repeated element', () => {
    const result = settingsOf(settings(protocol('IMAP', '<Server>not a host</Server><Server>imap.example.test</Server><Server>imap2.example.test</Server><Port>x</Port><Port>993</Port><Port>143</Port>')));
    assert.deepEqual(result.servers.map((server) => `${server.host}:${server.port}`), ['imap.example.test:993']);
  });

  it('reads only the first Account and the first supported Action', () => {
    const xml = doc(`<AccountType>email</AccountType><Action>bogus</Action><Action>redirectUrl</Action><Action>settings</Action><RedirectUrl>https://other.test/autodiscover/autodiscover.xml</RedirectUrl>`)
      .replace('</Account>', '</Account><Account><Action>redirectAddr</Action><RedirectAddr>x@y.test</RedirectAddr></Account>');
    const result = parse(xml);
    assert.ok(result.ok && result.action === 'redirectUrl');
    assert.equal(result.url, 'https://other.test/autodiscover/autodiscover.xml');
  });

  it('keeps every IMAP/POP3/SMTP section in document order', () => {
    const result = settingsOf(
      settings(imap('<Port>993</Port>') + protocol('POP3', '<Server>pop.example.test</Server><Port>995</Port>') + protocol('SMTP', '<Server>smtp.example.test</Server><Port>587</Port>')),
    );
    assert.deepEqual(result.servers.map((server) => server.protocol), ['imap', 'pop3', 'smtp']);
  });
});

describe('parseAutodiscoverXml: security mapping', () => {
  const cases: [string, string, string][] = [
    // [fields, expected security, why]
    ['<Port>993</Port><SSL>on</SSL>', 'tls', '993 is implicit TLS'],
    ['<Port>993</Port>', 'tls', 'SSL defaults to on'],
    ['<Port>143</Port><SSL>on</SSL>', 'starttls', '143 starts in cleartext'],
    ['<Port>143</Port><Encryption>SSL</Encryption>', 'starttls', 'the well-known port decides'],
    ['<Port>993</Port><Encryption>TLS</Encryption>', 'tls', 'the well-known port decides'],
    ['<Port>993</Port><Encryption>Auto</Encryption>', 'tls', 'Auto is encrypted'],
    ['<Port>143</Port><SSL>off</SSL>', 'none', 'SSL off'],
    ['<Port>143</Port><Encryption>None</Encryption><SSL>on</SSL>', 'none', 'Encryption overrides SSL'],
    ['<Port>143</Port><SSL>off</SSL><Encryption>TLS</Encryption>', 'starttls', 'Encryption overrides SSL'],
    ['<Port>1993</Port><SSL>on</SSL>', 'tls', 'non-standard port: implicit TLS, as Thunderbird assumes'],
    ['<Port>1993</Port><Encryption>Auto</Encryption>', 'tls', 'non-standard port, Auto: implicit TLS'],
    ['<Port>1993</Port><Encryption>SSL</Encryption>', 'tls', "non-standard port, Outlook's SSL is implicit TLS"],
    ['<Port>1143</Port><Encryption>TLS</Encryption>', 'starttls', "non-standard port, Outlook's TLS is STARTTLS"],
    ['<Port>1143</Port><SSL>OFF</SSL>', 'none', 'values are case-insensitive'],
  ];
  for (const [fields, security, why] of cases) {
    it(`maps ${fields} to ${security} (${why})`, () => {
      const result = settingsOf(settings(imap(fields)));
      assert.equal(result.servers[0]?.security, security);
    });
  }

  for (const [type, port] of [['IMAP', 993], ['POP3', 995], ['SMTP', 465]] as const) {
    it(`drops ${type} without encryption on implicit-TLS port ${port}`, () => {
      const result = settingsOf(settings(protocol(type, `<Server>mail.example.test</Server><Port>${port}</Port><SSL>off</SSL>`)));
      assert.equal(result.servers.length, 0);
      assert.match(result.dropped[0] ?? '', /implicit-TLS port/);
    });
  }

  it('maps SMTP on 587 and 25 to STARTTLS and 465 to TLS', () => {
    const result = settingsOf(
      settings(['587', '25', '465'].map((port) => protocol('SMTP', `<Server>smtp.example.test</Server><Port>${port}</Port><SSL>on</SSL>`)).join('')),
    );
    assert.deepEqual(result.servers.map((server) => `${server.port}:${server.security}`), ['587:starttls', '25:starttls', '465:tls']);
  });
});

describe('parseAutodiscoverXml: authentication', () => {
  it('maps SPA on to NTLM (Secure Password Authentication)', () => {
    assert.deepEqual(settingsOf(settings(imap('<Port>993</Port><SPA>on</SPA>'))).servers[0]?.authentication, ['ntlm']);
  });

  it('maps SPA off to a cleartext password', () => {
    assert.deepEqual(settingsOf(settings(imap('<Port>993</Port><SPA>off</SPA>'))).servers[0]?.authentication, ['password-cleartext']);
  });

  it('reads an absent SPA as a cleartext password (as Thunderbird does), not as the documented "on"', () => {
    assert.deepEqual(settingsOf(settings(imap('<Port>993</Port>'))).servers[0]?.authentication, ['password-cleartext']);
  });

  it('maps AuthRequired off on SMTP to no authentication', () => {
    const result = settingsOf(settings(protocol('SMTP', '<Server>smtp.example.test</Server><Port>587</Port><AuthRequired>off</AuthRequired>')));
    assert.deepEqual(result.servers[0]?.authentication, ['none']);
  });

  it('ignores AuthRequired off on IMAP (logging in is part of IMAP)', () => {
    assert.deepEqual(settingsOf(settings(imap('<Port>993</Port><AuthRequired>off</AuthRequired>'))).servers[0]?.authentication, ['password-cleartext']);
  });
});

describe('parseAutodiscoverXml: LoginName templating', () => {
  const login = (name: string, address = ADDRESS) => settingsOf(settings(imap(`<Port>993</Port><LoginName>${name}</LoginName>`)), address);

  it('turns a LoginName equal to the address into %EMAILADDRESS% (case-insensitive)', () => {
    const result = login('Jane.Doe@Example.test');
    assert.equal(result.servers[0]?.username, '%EMAILADDRESS%');
    assert.deepEqual(result.notes, []);
  });

  it('turns a LoginName equal to the local part into %EMAILLOCALPART%', () => {
    assert.equal(login('jane.doe').servers[0]?.username, '%EMAILLOCALPART%');
  });

  it('replaces any other LoginName by %EMAILADDRESS% and says it is per user, never keeping the name', () => {
    const result = login('CORP\\jdoe42');
    assert.equal(result.servers[0]?.username, '%EMAILADDRESS%');
    assert.ok(result.notes.some((note) => /login name is per user/.test(note)));
    assert.doesNotMatch(JSON.stringify(result), /jdoe42/);
  });

  it('uses %EMAILADDRESS% without a note when there is no LoginName', () => {
    const result = settingsOf(settings(imap('<Port>993</Port>')));
    assert.equal(result.servers[0]?.username, '%EMAILADDRESS%');
    assert.deepEqual(result.notes, []);
  });

  it('templates against the address that was sent (postmaster for a domain-only lookup)', () => {
    assert.equal(login('postmaster', 'postmaster@example.test').servers[0]?.username, '%EMAILLOCALPART%');
  });

  it('decodes predefined entities in LoginName before comparing', () => {
    assert.equal(login('o&apos;brien@example.test', "o'brien@example.test").servers[0]?.username, '%EMAILADDRESS%');
  });
});

describe('parseAutodiscoverXml: redirects and Exchange', () => {
  it('reads Action redirectAddr with its address (domain lower-cased)', () => {
    const result = parse(doc('<AccountType>email</AccountType><Action>redirectAddr</Action><RedirectAddr>jane@Other.Example.test</RedirectAddr>'));
    assert.deepEqual(result, { ok: true, action: 'redirectAddr', address: 'jane@other.example.test' });
  });

  it('reads Action redirectUrl with its https URL', () => {
    const result = parse(doc('<Action>redirectUrl</Action><RedirectUrl>https://ad.other.test/autodiscover/autodiscover.xml</RedirectUrl>'));
    assert.deepEqual(result, { ok: true, action: 'redirectUrl', url: 'https://ad.other.test/autodiscover/autodiscover.xml' });
  });

  for (const url of ['http://ad.other.test/autodiscover/autodiscover.xml', 'https://user:pw@ad.other.test/', 'file:///etc/passwd', 'not a url']) {
    it(`refuses RedirectUrl ${url} as invalid_redirect`, () => {
      const result = parse(doc(`<Action>redirectUrl</Action><RedirectUrl>${url}</RedirectUrl>`));
      assert.equal(result.ok ? null : result.error, 'invalid_redirect');
    });
  }

  for (const address of ['no-at-sign', 'a@b@c.test', 'x@127.0.0.1', 'x@localhost', '<x@y.test>']) {
    it(`refuses RedirectAddr ${address} as invalid_redirect`, () => {
      const result = parse(doc(`<Action>redirectAddr</Action><RedirectAddr>${address.replace('<', '&lt;').replace('>', '&gt;')}</RedirectAddr>`));
      assert.equal(result.ok ? null : result.error, 'invalid_redirect');
    });
  }

  it('infers the action from the content when Action is missing', () => {
    const result = parse(doc('<RedirectAddr>jane@other.test</RedirectAddr>'));
    assert.ok(result.ok && result.action === 'redirectAddr');
  });

  it('ignores EXCH/EXPR/WEB for servers, returns the https EwsUrl and says only Exchange is offered', () => {
    const result = settingsOf(
      settings(
        protocol('EXCH', '<Server>ex.example.test</Server><EwsUrl>http://plain.example.test/EWS/Exchange.asmx</EwsUrl><EwsUrl>https://mail.example.test/EWS/Exchange.asmx</EwsUrl>') +
          protocol('EXPR', '<Server>mail.example.test</Server><EwsUrl>https://other.example.test/EWS/Exchange.asmx</EwsUrl>') +
          protocol('WEB', '<Internal><OWAUrl AuthenticationMethod="Basic">https://mail.example.test/owa</OWAUrl></Internal>') +
          '<Protocol Type="mapiHttp" Version="1"><MailStore><ExternalUrl>https://mail.example.test/mapi</ExternalUrl></MailStore></Protocol>',
      ),
    );
    assert.equal(result.servers.length, 0);
    assert.equal(result.exchange, true);
    assert.equal(result.ewsUrl, 'https://mail.example.test/EWS/Exchange.asmx');
    assert.ok(result.notes.some((note) => /only Exchange/.test(note)));
    assert.deepEqual(result.dropped, []);
  });

  it('does not call an answer Exchange-only when it also has IMAP', () => {
    const result = settingsOf(settings(protocol('EXCH', '<Server>ex.example.test</Server>') + imap('<Port>993</Port>')));
    assert.equal(result.servers.length, 1);
    assert.ok(!result.notes.some((note) => /only Exchange/.test(note)));
  });

  it('reads namespace-prefixed elements', () => {
    const xml = `<a:Autodiscover xmlns:a="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><b:Response xmlns:b="${RESPONSE_NS}"><b:Account><b:Action>settings</b:Action><b:Protocol><b:Type>IMAP</b:Type><b:Server>imap.example.test</b:Server><b:Port>993</b:Port></b:Protocol></b:Account></b:Response></a:Autodiscover>`;
    assert.equal(settingsOf(xml).servers[0]?.host, 'imap.example.test');
  });
});
