import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPublicHostName, normaliseDomain } from '../../src/api/input.js';
import { parseAutodiscoverXml } from '../../src/formats/autodiscover-xml.js';
import { parsePaccJson } from '../../src/formats/pacc-json.js';
import type { MxRecord, SrvRecord } from '../../src/net/dns.js';
import { parseAutoconfigXml } from '../../src/formats/autoconfig-xml.js';
import { createAutodiscoverSource } from '../../src/sources/autodiscover.js';
import { checkSessionUrl, createJmapSource } from '../../src/sources/jmap.js';
import { createMxSource } from '../../src/sources/mx.js';
import { createSrvSource } from '../../src/sources/srv.js';
import type { SourceContext } from '../../src/sources/types.js';
import { loadTestProviderDb } from '../helpers/app.js';
import { FakeDns, FakeHttp, found } from '../helpers/fakes.js';

/** Names every document reader must refuse, as the input parser refuses them. */
const REFUSED_HOSTS = ['localhost', 'foo.localhost', 'mailhost', 'imap.corp.local', 'db.internal', 'router.home.arpa', 'imap_1.example.test', '10.0.0.1'];

const log = { debug() {}, info() {}, warn() {}, error() {} };
const context = (): SourceContext => ({ subject: { domain: 'example.test', email: 'jane@example.test', localPart: 'jane' }, signal: new AbortController().signal, log });
/** A resolver answering one SRV or MX table; every other question is NXDOMAIN. */
function fakeDns(tables: { srv?: Record<string, SrvRecord[]>; mx?: Record<string, MxRecord[]> }): FakeDns {
  const answer = <T>(records: T[] | undefined) => (records ? found(records, undefined) : undefined);
  return new FakeDns({ srv: (name) => answer(tables.srv?.[name]), mx: (name) => answer(tables.mx?.[name]) });
}

/** An HTTP client that answers 404 to everything and records what it was asked. */
const fakeHttp = () => new FakeHttp();

describe('one host-name rule for names read from documents and records', () => {
  it('refuses what normaliseDomain refuses, and accepts ordinary names', () => {
    for (const host of REFUSED_HOSTS) {
      assert.equal(isPublicHostName(host), false, host);
      assert.equal(normaliseDomain(host).ok, false, host);
    }
    for (const host of ['imap.example.test', 'mail.example.com', 'xn--bcher-kva.example', 'a-b.c-d.org']) assert.equal(isPublicHostName(host), true, host);
  });

  for (const host of REFUSED_HOSTS) {
    it(`autoconfig: a server on ${host} is dropped, as is a JMAP URL on it`, () => {
      const xml = `<clientConfig version="1.2"><emailProvider id="p">
        <incomingServer type="imap"><hostname>${host}</hostname><port>993</port><socketType>SSL</socketType></incomingServer>
        <incomingServer type="jmap"><url>https://${host}/jmap</url></incomingServer>
        <outgoingServer type="smtp"><hostname>${host}</hostname><port>465</port><socketType>SSL</socketType></outgoingServer>
      </emailProvider></clientConfig>`;
      const parsed = parseAutoconfigXml(xml);
      assert.ok(parsed.ok);
      assert.deepEqual([parsed.data.incoming, parsed.data.outgoing, parsed.data.urlServers], [[], [], []]);
    });

    it(`Autodiscover: a Server, RedirectAddr or RedirectUrl on ${host} is refused`, () => {
      const doc = (account: string) =>
        `<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"><Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"><Account>${account}</Account></Response></Autodiscover>`;
      const settings = parseAutodiscoverXml(doc(`<AccountType>email</AccountType><Action>settings</Action><Protocol><Type>IMAP</Type><Server>${host}</Server><Port>993</Port></Protocol>`), { address: 'jane@example.test' });
      assert.ok(settings.ok && settings.action === 'settings' && settings.servers.length === 0, JSON.stringify(settings));
      assert.equal(parseAutodiscoverXml(doc(`<Action>redirectAddr</Action><RedirectAddr>jane@${host}</RedirectAddr>`), { address: 'jane@example.test' }).ok, false);
      assert.equal(parseAutodiscoverXml(doc(`<Action>redirectUrl</Action><RedirectUrl>https://${host}/autodiscover/autodiscover.xml</RedirectUrl>`), { address: 'jane@example.test' }).ok, false);
    });

    it(`PACC: a host or JMAP URL on ${host} is dropped`, () => {
      const parsed = parsePaccJson(Buffer.from(JSON.stringify({ protocols: { imap: { host }, smtp: { host: 'smtp.example.test' }, jmap: { url: `https://${host}/session` } } })));
      assert.ok(parsed.ok, JSON.stringify(parsed));
      assert.deepEqual(parsed.data.servers.map((server) => server.host), ['smtp.example.test']);
      assert.deepEqual(parsed.data.jmap, []);
    });

    it(`SRV: a target ${host} is dropped`, async () => {
      const source = createSrvSource(fakeDns({ srv: { '_imaps._tcp.example.test': [{ name: host, port: 993, priority: 0, weight: 0 }] } }));
      const result = await source.lookup(context());
      assert.equal(result.outcome, 'not-found', JSON.stringify(result));
    });

    it(`MX: an exchange ${host} is not used and nothing is fetched for it`, async () => {
      const http = fakeHttp();
      const source = createMxSource({ dns: fakeDns({ mx: { 'example.test': [{ exchange: host, priority: 10 }] } }), providerDb: await loadTestProviderDb(), http, ispdbUrls: [] });
      const result = await source.lookup(context());
      assert.equal(result.outcome, 'not-found', JSON.stringify(result));
      assert.deepEqual(http.asked, []);
    });

    it(`JMAP: a session URL or SRV target on ${host} is refused and never fetched`, async () => {
      assert.equal(checkSessionUrl(`https://${host}/jmap/session`).ok, false);
      const http = fakeHttp();
      const source = createJmapSource({ http, dns: fakeDns({ srv: { '_jmap._tcp.example.test': [{ name: host, port: 443, priority: 0, weight: 0 }] } }) });
      await source.lookup(context());
      assert.deepEqual(http.asked, ['https://example.test/.well-known/jmap']);
    });

    it(`Autodiscover source: an SRV target ${host} is never asked`, async () => {
      const http = fakeHttp();
      const source = createAutodiscoverSource({ http, dns: fakeDns({ srv: { '_autodiscover._tcp.example.test': [{ name: host, port: 443, priority: 0, weight: 0 }] } }) });
      await source.lookup(context());
      assert.ok(http.asked.every((url) => !url.includes(`//${host}/`)), JSON.stringify(http.asked));
    });
  }
});
