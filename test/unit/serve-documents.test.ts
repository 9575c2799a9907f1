// The served documents read back by this service's own readers: every built-in provider (and the
// serving fixtures) through autoconfig, Autodiscover, PACC and the Apple profile.
import { documentServerFields } from '../../src/formats/candidate.js';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parsePlist } from 'plist';
import { renderUsername } from '../../src/api/input.js';
import { parseAutoconfigXml } from '../../src/formats/autoconfig-xml.js';
import { parseAutodiscoverXml } from '../../src/formats/autodiscover-xml.js';
import { parsePaccJson, verifyPaccDigest } from '../../src/formats/pacc-json.js';
import { loadProviderDb } from '../../src/provider-db/provider-db.js';
import type { Provider, ProviderServer } from '../../src/provider-db/schema.js';
import { renderAutoconfigXml } from '../../src/serve/autoconfig-document.js';
import { autodiscoverServers, renderAutodiscoverErrorXml, renderAutodiscoverXml } from '../../src/serve/autodiscover-document.js';
import { mobileconfigServers, renderMobileconfig, type AddressSubject } from '../../src/serve/mobileconfig.js';
import { renderPaccDocument } from '../../src/serve/pacc-document.js';
import { stableUuid } from '../../src/serve/stable-uuid.js';

const SERVE_FIXTURES = fileURLToPath(new URL('../fixtures/providers-serve/', import.meta.url));
const db = await loadProviderDb({ extraDir: SERVE_FIXTURES });
const providers = db.all();
const alpha = db.byDomain('alpha.test') as Provider;
const beta = db.byDomain('beta.test') as Provider;

const subjectAt = (domain: string, localPart = 'jane'): AddressSubject => ({ domain, email: `${localPart}@${domain}`, localPart });
const domainOf = (provider: Provider) => provider.domains[0] ?? 'hosted.example';
const fields = documentServerFields;

describe('served autoconfig documents read back by the autoconfig reader', () => {
  it(`give every server of every provider (${providers.length} files) unchanged, with OAuth and guidance`, () => {
    for (const provider of providers) {
      const domain = domainOf(provider);
      const parsed = parseAutoconfigXml(renderAutoconfigXml(provider, domain), { domain });
      assert.ok(parsed.ok, `${provider.id}: ${JSON.stringify(parsed)}`);
      assert.deepEqual(parsed.dropped, [], provider.id);
      assert.deepEqual(parsed.data.incoming, provider.incoming.map(fields), provider.id);
      assert.deepEqual(parsed.data.outgoing, provider.outgoing.map(fields), provider.id);
      assert.deepEqual(parsed.data.domains, [domain]);
      assert.equal(parsed.data.displayName, provider.name);
      const oauth2 = provider.oauth2;
      assert.deepEqual(
        parsed.data.oauth2,
        oauth2 ? { issuer: oauth2.issuer, scopes: oauth2.scopes, authorizationEndpoint: oauth2.authorizationEndpoint, tokenEndpoint: oauth2.tokenEndpoint } : undefined,
        provider.id,
      );
      assert.deepEqual(parsed.data.documentationPages.map((page) => page.url), provider.documentation.map((url) => new URL(url).href), provider.id);
    }
  });

  it('turns "switch it on first" hints into <enable> instructions and escapes names such as "Beta <Mail> & Co"', () => {
    const parsed = parseAutoconfigXml(renderAutoconfigXml(alpha, 'alpha.test'), { domain: 'alpha.test' });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.data.instructions, [
      { url: 'https://help.alpha.test/imap', texts: [{ lang: 'en', text: 'Turn on IMAP under Settings, Mail apps, before you add the account.' }] },
    ]);
    const escaped = parseAutoconfigXml(renderAutoconfigXml(beta, 'beta.test'), { domain: 'beta.test' });
    assert.ok(escaped.ok);
    assert.equal(escaped.data.displayName, 'Beta <Mail> & Co');
  });

  it('is the same text whatever address asks (usernames stay templates)', () => {
    assert.match(renderAutoconfigXml(alpha, 'alpha.test'), /<username>%EMAILADDRESS%<\/username>/);
    assert.doesNotMatch(renderAutoconfigXml(alpha, 'alpha.test'), /jane/);
  });
});

/** What POX can say of a login: a password, NTLM (SPA), or none for SMTP relays. */
function autodiscoverAuthentication(server: ProviderServer): string[] {
  const methods = server.authentication as readonly string[];
  if (server.protocol === 'smtp' && methods.join() === 'none') return ['none'];
  if (methods.includes('password-cleartext') || methods.includes('password-encrypted')) return ['password-cleartext'];
  return ['ntlm'];
}

describe('served Autodiscover answers read back by the Autodiscover reader', () => {
  it('give every server POX can describe with its host, port, security, login name and login', () => {
    let described = 0;
    for (const provider of providers) {
      const subject = subjectAt(domainOf(provider));
      const xml = renderAutodiscoverXml(provider, subject);
      const parsed = parseAutodiscoverXml(xml, { address: subject.email });
      assert.ok(parsed.ok && parsed.action === 'settings', `${provider.id}: ${JSON.stringify(parsed)}`);
      const expected = autodiscoverServers(provider);
      described += expected.length;
      // The reader keeps only the two login forms a cached answer can share (address, local part);
      // any other form is sent exactly in LoginName, and the reader says it is per user.
      const shared = (login: string) => login === subject.email || login === subject.localPart;
      const logins = expected.map((server) => renderUsername(server.username, subject));
      assert.deepEqual(
        parsed.servers.map((server, index) => ({ ...server, username: shared(logins[index] ?? '') ? renderUsername(server.username, subject) : logins[index] })),
        expected.map((server, index) => ({ ...fields(server), username: logins[index], authentication: autodiscoverAuthentication(server) })),
        provider.id,
      );
      for (const login of logins) assert.ok(xml.includes(`<LoginName>${login}</LoginName>`), `${provider.id}: LoginName ${login}`);
      if (!logins.every(shared)) assert.match(parsed.notes.join(), /per user/, provider.id);
    }
    assert.ok(described > providers.length, `${described} servers described`);
  });

  it('answers the local-part login form, NTLM (SPA) and a CRAM-MD5 password as POX says them', () => {
    const subject = subjectAt('beta.test', 'Jo.Smith');
    const parsed = parseAutodiscoverXml(renderAutodiscoverXml(beta, subject), { address: subject.email });
    assert.ok(parsed.ok && parsed.action === 'settings');
    assert.deepEqual(
      parsed.servers.map((server) => [server.protocol, server.port, server.security, server.username, server.authentication.join()]),
      [
        ['pop3', 110, 'starttls', '%EMAILLOCALPART%', 'password-cleartext'],
        ['smtp', 587, 'starttls', '%EMAILLOCALPART%', 'ntlm'],
      ],
    );
  });

  it('leaves out servers POX cannot describe (OAuth2 only) and reads an error answer as one', () => {
    const oauthOnly: Provider = { ...alpha, incoming: [{ ...alpha.incoming[0]!, authentication: ['oauth2'] }, ...alpha.incoming.slice(1)] };
    assert.equal(autodiscoverServers(oauthOnly).length, autodiscoverServers(alpha).length - 1);
    const error = parseAutodiscoverXml(renderAutodiscoverErrorXml(600, 'Invalid Request'), { address: 'jane@alpha.test' });
    assert.deepEqual(error, { ok: false, error: 'autodiscover_error', message: 'Autodiscover error 600: Invalid Request' });
  });
});

describe('served PACC documents read back by the PACC reader', () => {
  it('verify against their own TXT value and give the implicit-TLS servers of every provider that has one', () => {
    let served = 0;
    for (const provider of providers) {
      const document = renderPaccDocument(provider);
      if (!document) {
        const incomingTls = provider.incoming.filter((server) => server.security === 'tls' && (server.port === 993 || server.port === 995) && server.username === '%EMAILADDRESS%');
        assert.ok(incomingTls.every((server) => !server.authentication.some((method) => method.startsWith('password'))), `${provider.id} could have PACC`);
        continue;
      }
      served += 1;
      assert.deepEqual(verifyPaccDigest(document.bytes, [document.txt]), { ok: true }, provider.id);
      const parsed = parsePaccJson(document.bytes);
      assert.ok(parsed.ok, provider.id);
      assert.deepEqual(parsed.dropped, [], provider.id);
      const methods = new Set(document.servers.flatMap((server) => server.authentication as string[]));
      const expected = [
        ...(methods.has('password-cleartext') || methods.has('password-encrypted') ? ['password-cleartext'] : []),
        ...(methods.has('oauth2') && provider.oauth2 ? ['oauth2'] : []),
      ];
      assert.deepEqual(
        parsed.data.servers,
        document.servers.map((server) => ({ ...fields(server), authentication: expected })),
        provider.id,
      );
      assert.equal(parsed.data.providerName, provider.name.slice(0, 120));
      if (provider.oauth2 && methods.has('oauth2')) assert.equal(parsed.data.oauthIssuer, `https://${provider.oauth2.issuer}/`);
    }
    assert.ok(served > providers.length / 2, `${served} of ${providers.length} providers have a PACC document`);
  });

  it('has none for a provider without implicit TLS (beta.test) and the same bytes every time', () => {
    assert.equal(renderPaccDocument(beta), undefined);
    assert.deepEqual(renderPaccDocument(alpha)?.bytes, renderPaccDocument(structuredClone(alpha))?.bytes);
  });
});

describe('served Apple profiles read back by a property-list parser', () => {
  type Dict = Record<string, unknown>;
  const parse = (xml: string | undefined) => parsePlist(xml ?? '') as Dict;

  it('carry the best incoming server and SMTP with the address filled in, for every provider Apple can describe', () => {
    let made = 0;
    for (const provider of providers) {
      const subject = subjectAt(domainOf(provider));
      const servers = mobileconfigServers(provider);
      const xml = renderMobileconfig(provider, subject);
      assert.equal(xml === undefined, servers === undefined, provider.id);
      if (!servers || !xml) continue;
      made += 1;
      const profile = parse(xml);
      assert.equal(profile['PayloadType'], 'Configuration');
      assert.equal(profile['PayloadVersion'], 1);
      const [account] = profile['PayloadContent'] as Dict[];
      assert.ok(account);
      assert.equal(account['PayloadType'], 'com.apple.mail.managed');
      assert.equal(account['EmailAddress'], subject.email);
      assert.equal(account['EmailAccountType'], servers.incoming.protocol === 'imap' ? 'EmailTypeIMAP' : 'EmailTypePOP');
      assert.equal(account['IncomingMailServerHostName'], servers.incoming.host);
      assert.equal(account['IncomingMailServerPortNumber'], servers.incoming.port);
      assert.equal(account['IncomingMailServerUseSSL'], servers.incoming.security !== 'none');
      assert.equal(account['IncomingMailServerUsername'], renderUsername(servers.incoming.username, subject));
      assert.equal(account['OutgoingMailServerHostName'], servers.outgoing.host);
      assert.equal(account['OutgoingMailServerPortNumber'], servers.outgoing.port);
      assert.equal(account['OutgoingMailServerUsername'], renderUsername(servers.outgoing.username, subject));
    }
    assert.ok(made > providers.length / 2, `${made} profiles`);
  });

  it('pick IMAP over implicit TLS when there is one, say CRAM-MD5 and NTLM as Apple names them, and escape', () => {
    const [alphaAccount] = parse(renderMobileconfig(alpha, subjectAt('alpha.test')))['PayloadContent'] as Dict[];
    assert.deepEqual([alphaAccount?.['IncomingMailServerPortNumber'], alphaAccount?.['OutgoingMailServerPortNumber']], [993, 465]);
    const betaProfile = parse(renderMobileconfig(beta, subjectAt('beta.test', 'jo')));
    const [betaAccount] = betaProfile['PayloadContent'] as Dict[];
    assert.equal(betaAccount?.['EmailAccountType'], 'EmailTypePOP');
    assert.equal(betaAccount?.['IncomingMailServerAuthentication'], 'EmailAuthCRAMMD5');
    assert.equal(betaAccount?.['OutgoingMailServerAuthentication'], 'EmailAuthNTLM');
    assert.equal(betaAccount?.['IncomingMailServerUsername'], 'jo');
    assert.equal(betaProfile['PayloadOrganization'], 'Beta <Mail> & Co');
  });

  it('have UUIDs and identifiers that are stable per address and differ between addresses', () => {
    const uuids = (subject: AddressSubject) => {
      const profile = parse(renderMobileconfig(alpha, subject));
      const [account] = profile['PayloadContent'] as Dict[];
      return [profile['PayloadUUID'], profile['PayloadIdentifier'], account?.['PayloadUUID'], account?.['PayloadIdentifier']];
    };
    const jane = uuids(subjectAt('alpha.test'));
    assert.deepEqual(uuids(subjectAt('alpha.test')), jane);
    assert.deepEqual(uuids(subjectAt('alpha.test', 'JANE')), jane, 'case of the address does not matter');
    const joe = uuids(subjectAt('alpha.test', 'joe'));
    for (let index = 0; index < 4; index += 1) assert.notEqual(joe[index], jane[index]);
    assert.match(String(jane[0]), /^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    assert.notEqual(jane[0], jane[2]);
    assert.equal(stableUuid('x'), stableUuid('x'));
  });

  it('are not made when no server pair can be described (OAuth2-only login)', () => {
    const oauthOnly: Provider = { ...alpha, incoming: alpha.incoming.map((server) => ({ ...server, authentication: ['oauth2' as const] })) };
    assert.equal(renderMobileconfig(oauthOnly, subjectAt('alpha.test')), undefined);
  });
});
