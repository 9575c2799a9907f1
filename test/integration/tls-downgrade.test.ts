import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { testConfig } from '../helpers/config.js';
import { loadTestProviderDb } from '../helpers/app.js';
import { autoconfigXml } from '../helpers/autoconfig-docs.js';
import { TestDnsServer, type ZoneRecord } from '../helpers/dns-server.js';
import { createMailCerts } from '../helpers/dovecot.js';
import { startHttp, startHttps, type Started } from '../helpers/servers.js';

// Loopback world of this file: DNS 127.0.8.3; autoconfig hosts with HTTPS (:443) and plain HTTP
// (:80) on 127.0.8.30 (certificate for another name), 127.0.8.31 (expired certificate) and
// 127.0.8.32 (valid certificate, but the HTTPS document is missing); 127.0.8.33 serves plain HTTP only.
const DNS = '127.0.8.3';
const WRONG_NAME = '127.0.8.30';
const EXPIRED = '127.0.8.31';
const GOOD = '127.0.8.32';
const PLAIN_ONLY = '127.0.8.33';

const A = (address: string): ZoneRecord[] => [{ type: 'A', address, ttl: 120 }];

interface Report {
  name: string;
  outcome: string;
  error?: string;
  detail?: string;
}

describe('no plain-HTTP autoconfig after a TLS failure on the HTTPS autoconfig host', () => {
  const dns = new TestDnsServer(DNS);
  const started: Started<unknown>[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'mailsettings-downgrade-'));
  let app: FastifyInstance;

  before(async () => {
    const certs = createMailCerts(dir);
    dns.set('autoconfig.wrongname.t.test', A(WRONG_NAME));
    dns.set('autoconfig.expired.t.test', A(EXPIRED));
    dns.set('autoconfig.nodoc.t.test', A(GOOD));
    dns.set('autoconfig.plainonly.t.test', A(PLAIN_ONLY));
    await dns.start();

    // The plain-HTTP side of every host serves a document (what a downgrade attacker would serve).
    const plain: http.RequestListener = (request, response) => {
      const host = (request.headers.host ?? '').replace(/^autoconfig\./, '');
      response.setHeader('content-type', 'application/xml');
      response.end(autoconfigXml(host));
    };
    const notFound: http.RequestListener = (_request, response) => {
      response.writeHead(404);
      response.end();
    };
    started.push(await startHttps(WRONG_NAME, certs.issue('someone-else.test', ['someone-else.test']), plain));
    started.push(
      await startHttps(EXPIRED, certs.issue('autoconfig.expired.t.test', ['autoconfig.expired.t.test'], { start: '20200101000000Z', end: '20200201000000Z' }), plain),
    );
    started.push(await startHttps(GOOD, certs.issue('autoconfig.nodoc.t.test', ['autoconfig.nodoc.t.test']), notFound));
    for (const address of [WRONG_NAME, EXPIRED, GOOD, PLAIN_ONLY]) started.push(await startHttp(address, plain));

    const config = testConfig({
      DNS_SERVERS: dns.server,
      DNS_TIMEOUT_MS: '300',
      DNS_TRIES: '1',
      PROBE_ALLOW_CIDRS: '127.0.8.0/24',
      ISPDB_URL: '',
      HTTP_TIMEOUT_MS: '1000',
      LOOKUP_TIMEOUT_MS: '4000',
    });
    app = await buildApp(config, { providerDb: await loadTestProviderDb(), httpCa: certs.caPem });
    await app.ready();
  });

  after(async () => {
    await app.close();
    for (const server of started) await server.stop();
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const lookup = async (domain: string) => {
    const response = await app.inject({ method: 'GET', url: `/v1/lookup?domain=${domain}&fresh=true` });
    const body = response.json() as { sources: Report[]; incoming?: { host: string; trusted?: boolean }[] };
    const source = (name: string) => body.sources.find((entry) => entry.name === name);
    return { response, body, source };
  };

  for (const [domain, why] of [['wrongname.t.test', 'a certificate for another name'], ['expired.t.test', 'an expired certificate']] as const) {
    it(`${why}: the http://autoconfig answer is not used and the trace says why`, async () => {
      const { response, source } = await lookup(domain);
      assert.equal(source('autoconfig')?.error, 'tls_error', JSON.stringify(source('autoconfig')));
      const httpSource = source('http-autoconfig');
      assert.equal(httpSource?.outcome, 'blocked', JSON.stringify(httpSource));
      assert.equal(httpSource?.error, 'tls_downgrade_refused');
      assert.match(httpSource?.detail ?? '', /TLS/);
      // Nothing else knows this domain: no settings at all rather than the attacker's.
      assert.equal(response.statusCode, 404, response.body);
    });
  }

  it('a valid certificate without the document: the plain-HTTP answer is used, untrusted', async () => {
    const { response, body, source } = await lookup('nodoc.t.test');
    assert.equal(source('autoconfig')?.outcome, 'not-found', JSON.stringify(source('autoconfig')));
    assert.equal(source('http-autoconfig')?.outcome, 'found', JSON.stringify(source('http-autoconfig')));
    assert.equal(response.statusCode, 200, response.body);
    assert.ok((body.incoming ?? []).length > 0);
    assert.ok((body.incoming ?? []).every((server) => server.trusted === false), JSON.stringify(body.incoming));
  });

  it('no HTTPS listener at all (not a TLS failure): the plain-HTTP answer is used, untrusted', async () => {
    const { response, source } = await lookup('plainonly.t.test');
    assert.notEqual(source('autoconfig')?.error, 'tls_error');
    assert.equal(source('http-autoconfig')?.outcome, 'found', JSON.stringify(source('http-autoconfig')));
    assert.equal(response.statusCode, 200, response.body);
  });
});
