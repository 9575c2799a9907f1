import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseAutoconfigXml } from '../../src/formats/autoconfig-xml.js';

const EXAMPLE = readFileSync(new URL('../fixtures/autoconfig/example.xml', import.meta.url), 'utf8');

const wrap = (servers: string) =>
  `<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="x.test">${servers}</emailProvider></clientConfig>`;
const imap = (fields: string) => `<incomingServer type="imap">${fields}</incomingServer>`;

describe('parseAutoconfigXml', () => {
  it('reads a full config-v1.1.xml: servers, mapping, placeholders, domains, documentation', () => {
    const result = parseAutoconfigXml(EXAMPLE, { domain: 'example.test' });
    assert.ok(result.ok);
    const { data, dropped } = result;
    assert.equal(data.id, 'example.test');
    assert.equal(data.displayName, 'Example & Co Mail');
    assert.deepEqual(data.domains, ['example.test', 'example-alias.test']);
    assert.deepEqual(data.documentation, ['https://help.example.test/mail']);
    assert.deepEqual(data.incoming, [
      { protocol: 'imap', host: 'imap.example.test', port: 993, security: 'tls', username: '%EMAILADDRESS%', authentication: ['password-cleartext', 'oauth2'] },
      { protocol: 'imap', host: 'imap.example.test', port: 143, security: 'starttls', username: '%EMAILLOCALPART%', authentication: ['password-encrypted'] },
      { protocol: 'pop3', host: 'pop.example.test', port: 995, security: 'tls', username: '%EMAILADDRESS%', authentication: ['password-cleartext'] },
    ]);
    assert.deepEqual(data.outgoing, [
      { protocol: 'smtp', host: 'smtp.example.test', port: 465, security: 'tls', username: '%EMAILADDRESS%', authentication: ['password-cleartext'] },
      { protocol: 'smtp', host: 'smtp2.example.test', port: 587, security: 'none', username: '%EMAILADDRESS%', authentication: ['password-cleartext'] },
    ]);
    // exchange type, port 70000 and an smtp-after-pop-only server are dropped, each with a reason.
    assert.equal(dropped.length, 3);
    assert.ok(dropped.some((reason) => /exchange/.test(reason)));
    assert.ok(dropped.some((reason) => /invalid port/.test(reason)));
    assert.ok(dropped.some((reason) => /no supported authentication/.test(reason)));
  });

  it('keeps %EMAILDOMAIN% in host names when no domain is given (then the host is invalid and dropped)', () => {
    const result = parseAutoconfigXml(wrap(imap('<hostname>imap.%EMAILDOMAIN%</hostname><port>993</port><socketType>SSL</socketType>')));
    assert.ok(result.ok);
    assert.equal(result.data.incoming.length, 0);
    assert.match(result.dropped[0] ?? '', /invalid hostname/);
  });

  for (const [socketType, security] of [['SSL', 'tls'], ['ssl', 'tls'], ['STARTTLS', 'starttls'], ['plain', 'none']] as const) {
    it(`maps socketType ${socketType} to ${security}`, () => {
      const result = parseAutoconfigXml(wrap(imap(`<hostname>imap.x.test</hostname><port>1</port><socketType>${socketType}</socketType>`)));
      assert.ok(result.ok);
      assert.equal(result.data.incoming[0]?.security, security);
    });
  }

  for (const port of ['0', '65536', '-1', 'abc', '', '99999999999', '1.5']) {
    it(`drops a server with port "${port}" but keeps the others`, () => {
      const good = imap('<hostname>imap.x.test</hostname><port>993</port><socketType>SSL</socketType>');
      const bad = imap(`<hostname>imap2.x.test</hostname><port>${port}</port><socketType>SSL</socketType>`);
      const result = parseAutoconfigXml(wrap(bad + good));
      assert.ok(result.ok);
      assert.deepEqual(result.data.incoming.map((server) => server.host), ['imap.x.test']);
      assert.equal(result.dropped.length, 1);
    });
  }

  it('accepts ports 1 and 65535', () => {
    const result = parseAutoconfigXml(
      wrap(
        imap('<hostname>a.x.test</hostname><port>1</port><socketType>SSL</socketType>') +
          imap('<hostname>b.x.test</hostname><port>65535</port><socketType>SSL</socketType>'),
      ),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.data.incoming.map((server) => server.port), [1, 65535]);
  });

  for (const host of ['imap x.test', 'http://imap.x.test', 'imap.x.test/evil', '127.0.0.1', '-bad.x.test', '']) {
    it(`drops a server with hostname "${host}"`, () => {
      const result = parseAutoconfigXml(wrap(imap(`<hostname>${host}</hostname><port>993</port><socketType>SSL</socketType>`)));
      assert.ok(result.ok);
      assert.equal(result.data.incoming.length, 0);
    });
  }

  it('drops an unknown socketType', () => {
    const result = parseAutoconfigXml(wrap(imap('<hostname>imap.x.test</hostname><port>993</port><socketType>TLS1.3</socketType>')));
    assert.ok(result.ok);
    assert.equal(result.data.incoming.length, 0);
  });

  it('drops socketType values the draft does not define (TLS, ssl/tls, auto) instead of guessing implicit TLS', () => {
    for (const value of ['TLS', 'tls', 'ssl/tls', 'auto', 'SSL/TLS', '']) {
      const result = parseAutoconfigXml(wrap(imap(`<hostname>imap.x.test</hostname><port>143</port><socketType>${value}</socketType>`)));
      assert.ok(result.ok);
      assert.equal(result.data.incoming.length, 0, `socketType "${value}" must not be read`);
      assert.match(result.dropped.join(), /no supported socketType/);
    }
    for (const [value, security] of [['SSL', 'tls'], ['STARTTLS', 'starttls'], ['plain', 'none'], ['starttls', 'starttls']] as const) {
      const result = parseAutoconfigXml(wrap(imap(`<hostname>imap.x.test</hostname><port>143</port><socketType>${value}</socketType>`)));
      assert.ok(result.ok);
      assert.equal(result.data.incoming[0]?.security, security);
    }
  });

  it('reads repeated child elements by the first supported value instead of dropping the section', () => {
    const result = parseAutoconfigXml(
      wrap(
        imap(`<hostname>imap.first.test</hostname><hostname>imap.second.test</hostname>
<port>993</port><port>143</port>
<socketType>TLS</socketType><socketType>SSL</socketType><socketType>STARTTLS</socketType>
<username>%EMAILLOCALPART%</username><username>%EMAILADDRESS%</username>
<authentication>future-method</authentication><authentication>OAuth2</authentication><authentication system="sasl">SCRAM-SHA-256-PLUS</authentication><authentication>password-cleartext</authentication>`),
      ),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.data.incoming, [
      { protocol: 'imap', host: 'imap.first.test', port: 993, security: 'tls', username: '%EMAILLOCALPART%', authentication: ['oauth2', 'password-cleartext'] },
    ]);
  });

  it('reads the autoconfig 1.2 additions: URL-based servers, <oAuth2>, <domain purpose="mx">, authentication with a system', () => {
    const result = parseAutoconfigXml(`<?xml version="1.0"?><clientConfig version="1.2">
<emailProvider id="x.test"><domain>x.test</domain><domain purpose="mx">hoster.test</domain><domain purpose="future">other.test</domain>
<incomingServer type="jmap"><url>https://jmap.x.test/session</url><authentication>OAuth2</authentication><authentication system="http">Basic</authentication></incomingServer>
<incomingServer type="activeSync"><url>https://mail.x.test/Microsoft-Server-ActiveSync</url></incomingServer>
<incomingServer type="ews"><url>http://mail.x.test/EWS/Exchange.asmx</url></incomingServer>
<incomingServer type="imap"><hostname>imap.x.test</hostname><port>993</port><socketType>SSL</socketType><authentication system="http">Basic</authentication><authentication>password-cleartext</authentication></incomingServer>
</emailProvider>
<oAuth2><authURL>https://login.x.test/auth</authURL><tokenURL>https://login.x.test/token</tokenURL><issuer>login.x.test</issuer><scope>IMAP SMTP offline_access</scope></oAuth2>
</clientConfig>`);
    assert.ok(result.ok);
    assert.deepEqual(result.data.domains, ['x.test']);
    assert.deepEqual(result.data.mxDomains, ['hoster.test']);
    assert.deepEqual(result.data.urlServers, [
      { kind: 'jmap', url: 'https://jmap.x.test/session' },
      { kind: 'activesync', url: 'https://mail.x.test/Microsoft-Server-ActiveSync' },
    ]);
    assert.match(result.dropped.join(), /ews server has no https URL/);
    assert.deepEqual(result.data.incoming.map((server) => server.authentication), [['password-cleartext']]);
    assert.deepEqual(result.data.oauth2, {
      issuer: 'login.x.test',
      scopes: ['IMAP', 'SMTP', 'offline_access'],
      authorizationEndpoint: 'https://login.x.test/auth',
      tokenEndpoint: 'https://login.x.test/token',
    });
  });

  it('refuses any DOCTYPE, so an entity bomb is never expanded', () => {
    const bomb = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<clientConfig><emailProvider id="x"><displayName>&lol9;</displayName>
${imap('<hostname>imap.x.test</hostname><port>993</port><socketType>SSL</socketType>')}</emailProvider></clientConfig>`;
    const started = performance.now();
    const result = parseAutoconfigXml(bomb);
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error, 'doctype_refused');
    assert.ok(performance.now() - started < 100);
  });

  it('refuses an external entity declaration in any case spelling', () => {
    for (const [doctype, entity] of [['doctype', 'entity'], ['DocType', 'Entity'], ['DOCTYPE', 'ENTITY']]) {
      const xxe = `<?xml version="1.0"?><!${doctype} x [<!${entity} xxe SYSTEM "file:///etc/passwd">]><clientConfig/>`;
      const result = parseAutoconfigXml(xxe);
      assert.equal(result.ok ? 'accepted' : result.error, 'doctype_refused', doctype);
    }
  });

  it('never expands entity references in values (no entities are declared to expand)', () => {
    const result = parseAutoconfigXml(wrap(`<displayName>&xxe;</displayName>` + imap('<hostname>imap.x.test</hostname><port>993</port><socketType>SSL</socketType>')));
    assert.ok(result.ok);
    assert.equal(result.data.displayName, '&xxe;');
  });

  for (const [name, xml] of [
    ['unclosed tags', '<clientConfig><emailProvider>'],
    ['mismatched tags', '<clientConfig><emailProvider></clientConfig></emailProvider>'],
    ['text that is not XML', 'Not Found'],
    ['an HTML page', '<html><body><p>hello<br></body></html>'],
  ] as const) {
    it(`refuses malformed input: ${name}`, () => {
      const result = parseAutoconfigXml(xml);
      assert.equal(result.ok, false);
      if (!result.ok) assert.equal(result.error, 'malformed_xml');
    });
  }

  it('refuses well-formed XML that is not an autoconfig file', () => {
    const result = parseAutoconfigXml('<?xml version="1.0"?><rss><channel/></rss>');
    assert.equal(result.ok, false);
    if (!result.ok) assert.equal(result.error, 'not_autoconfig');
  });

  it('maps every authentication value of the format, ignoring unknown ones', () => {
    const values = ['password-cleartext', 'plain', 'password-encrypted', 'secure', 'OAuth2', 'NTLM', 'GSSAPI', 'client-IP-address', 'TLS-client-cert', 'none', 'smtp-after-pop', 'bogus'];
    const auth = values.map((value) => `<authentication>${value}</authentication>`).join('');
    const result = parseAutoconfigXml(wrap(imap(`<hostname>imap.x.test</hostname><port>993</port><socketType>SSL</socketType>${auth}`)));
    assert.ok(result.ok);
    assert.deepEqual(result.data.incoming[0]?.authentication, [
      'password-cleartext',
      'password-encrypted',
      'oauth2',
      'ntlm',
      'gssapi',
      'client-ip-address',
      'tls-client-cert',
      'none',
    ]);
  });

  it('defaults a missing username to %EMAILADDRESS% and keeps other templates as written', () => {
    const result = parseAutoconfigXml(
      wrap(
        imap('<hostname>a.x.test</hostname><port>993</port><socketType>SSL</socketType>') +
          imap('<hostname>b.x.test</hostname><port>993</port><socketType>SSL</socketType><username>mail-%EMAILLOCALPART%</username>'),
      ),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.data.incoming.map((server) => server.username), ['%EMAILADDRESS%', 'mail-%EMAILLOCALPART%']);
  });
});

describe('parseAutoconfigXml: <enable> and <documentation> guidance', () => {
  const server = imap('<hostname>imap.x.test</hostname><port>993</port><socketType>SSL</socketType>');
  const guidance = (body: string) => {
    const result = parseAutoconfigXml(wrap(server + body));
    assert.ok(result.ok);
    return result.data;
  };

  it('reads <enable visiturl> with its instructions and <documentation url> with its descriptions, per language', () => {
    const data = guidance(`
<enable visiturl="https://mail.x.test/settings?tab=imap&amp;x=1">
  <instruction lang="en">Turn on IMAP access in your mailbox settings.</instruction>
  <instruction lang="de">Aktivieren Sie den IMAP-Zugriff in den Einstellungen.</instruction>
</enable>
<documentation url="https://help.x.test/mail">
  <descr lang="en">Setting up a mail app</descr>
  <descr xml:lang="de_DE">E-Mail-Programm einrichten</descr>
</documentation>`);
    assert.deepEqual(data.instructions, [
      {
        url: 'https://mail.x.test/settings?tab=imap&x=1',
        texts: [
          { lang: 'en', text: 'Turn on IMAP access in your mailbox settings.' },
          { lang: 'de', text: 'Aktivieren Sie den IMAP-Zugriff in den Einstellungen.' },
        ],
      },
    ]);
    assert.deepEqual(data.documentationPages, [
      { url: 'https://help.x.test/mail', texts: [{ lang: 'en', text: 'Setting up a mail app' }, { lang: 'de-de', text: 'E-Mail-Programm einrichten' }] },
    ]);
    // The URL list the provider importer reads is unchanged.
    assert.deepEqual(data.documentation, ['https://help.x.test/mail']);
  });

  it('drops non-https URLs: an <enable> keeps its texts, a <documentation> is dropped whole', () => {
    const data = guidance(`
<enable visiturl="http://mail.x.test/settings"><instruction lang="en">Enable IMAP first.</instruction></enable>
<enable visiturl="javascript:alert(1)"><instruction lang="en">Click.</instruction></enable>
<enable visiturl="https://user:secret@mail.x.test/"><instruction lang="en">Login link.</instruction></enable>
<enable visiturl="http://only-a-link.x.test/"/>
<documentation url="http://help.x.test/plain"><descr lang="en">Plain</descr></documentation>
<documentation url="https://10.0.0.1/internal"><descr lang="en">Internal</descr></documentation>`);
    assert.deepEqual(data.instructions, [
      { url: undefined, texts: [{ lang: 'en', text: 'Enable IMAP first.' }] },
      { url: undefined, texts: [{ lang: 'en', text: 'Click.' }] },
      { url: undefined, texts: [{ lang: 'en', text: 'Login link.' }] },
    ]);
    assert.deepEqual(data.documentationPages, []);
  });

  it('caps an overlong text and ends it with an ellipsis', () => {
    const data = guidance(`<enable visiturl="https://x.test/"><instruction lang="en">${'Ä'.repeat(5000)}</instruction></enable>`);
    const text = data.instructions[0]?.texts[0]?.text ?? '';
    assert.equal(Array.from(text).length, 500);
    assert.ok(text.endsWith('…'));
  });

  it('removes control characters and bidi overrides, also when written as character references, and collapses whitespace', () => {
    const data = guidance(
      `<enable visiturl="https://x.test/"><instruction lang="en">Open\t the &#x1b;[31mpage&#7;\n now &#x202E;moc.live&#x202C; &#x85;ok</instruction></enable>`,
    );
    assert.equal(data.instructions[0]?.texts[0]?.text, 'Open the [31mpage now moc.live ok');
  });

  it('keeps at most 5 entries of each kind and 10 languages per entry, the first ones', () => {
    const langs = ['en', 'de', 'fr', 'it', 'es', 'nl', 'pl', 'pt', 'sv', 'da', 'fi', 'cs'];
    const enable = (n: number) =>
      `<enable visiturl="https://x.test/${n}">${langs.map((lang) => `<instruction lang="${lang}">Text ${n} ${lang}</instruction>`).join('')}</enable>`;
    const docs = Array.from({ length: 8 }, (_, n) => `<documentation url="https://help.x.test/${n}"><descr lang="en">Doc ${n}</descr></documentation>`);
    const data = guidance(Array.from({ length: 8 }, (_, n) => enable(n)).join('') + docs.join(''));
    assert.deepEqual(data.instructions.map((entry) => entry.url), [0, 1, 2, 3, 4].map((n) => `https://x.test/${n}`));
    assert.deepEqual(data.instructions[0]?.texts.map((entry) => entry.lang), langs.slice(0, 10));
    assert.deepEqual(data.documentationPages.map((entry) => entry.url), [0, 1, 2, 3, 4].map((n) => `https://help.x.test/${n}`));
  });

  it('drops texts with an invalid language tag, keeps the first text per language, and tags a missing one "und"', () => {
    const data = guidance(`<enable visiturl="https://x.test/">
<instruction lang="en&quot;&gt;&lt;script&gt;">Bad tag</instruction>
<instruction lang="english">Bad tag</instruction>
<instruction lang="e">Bad tag</instruction>
<instruction lang="">Bad tag</instruction>
<instruction lang="EN-gb">British</instruction>
<instruction lang="en-GB">Second British</instruction>
<instruction>No tag</instruction>
<instruction lang="fr"></instruction>
</enable>`);
    assert.deepEqual(data.instructions[0]?.texts, [
      { lang: 'en-gb', text: 'British' },
      { lang: 'und', text: 'No tag' },
    ]);
  });

  it('never expands entity references in texts: only the five XML entities and character references are decoded', () => {
    const data = guidance(`<enable visiturl="https://x.test/"><instruction lang="en">&xxe; &amp;lt; &lt;b&gt;bold&lt;/b&gt;</instruction></enable>`);
    // Shown as text (the widget never renders markup): `<b>` stays literal.
    assert.equal(data.instructions[0]?.texts[0]?.text, '&xxe; &lt; <b>bold</b>');
  });

  it('has no guidance when the document has none, and drops an <enable> with neither URL nor text', () => {
    const data = guidance('<enable/><enable visiturl="ftp://x.test/"><instruction lang="en">  </instruction></enable>');
    assert.deepEqual(data.instructions, []);
    assert.deepEqual(data.documentationPages, []);
  });
});
