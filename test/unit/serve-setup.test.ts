// Serving set-up: SERVE_* configuration, Host matching, the Autodiscover request reader and the DNS records to publish.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { buildAutodiscoverRequest, parseAutodiscoverRequestXml } from '../../src/formats/autodiscover-xml.js';
import { ENTITY_BOMB } from '../helpers/autoconfig-docs.js';
import { loadProviderDb } from '../../src/provider-db/provider-db.js';
import { ServeConfigError } from '../../src/serve/profile-signer.js';
import { zoneLine } from '../../src/serve/publish.js';
import { hostOfHeader, ServedDomains } from '../../src/serve/served-domains.js';

const db = await loadProviderDb({ extraDir: fileURLToPath(new URL('../fixtures/providers-serve/', import.meta.url)) });
const served = ServedDomains.create(['alpha.test', 'beta.test'], db);
const env = (values: Record<string, string>) => loadConfig({ LOG_LEVEL: 'silent', ...values } as NodeJS.ProcessEnv);
const configError = (values: Record<string, string>) => {
  try {
    env(values);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.message;
  }
  return assert.fail('expected a ConfigError');
};

describe('SERVE_* configuration', () => {
  it('is off by default and normalises the served domains as lookups do', () => {
    assert.deepEqual(env({}).SERVE_DOMAINS, []);
    const config = env({ SERVE_DOMAINS: ' Alpha.TEST , bücher.test,', SERVE_HOSTNAME: 'Settings.Example.NET.' });
    assert.deepEqual(config.SERVE_DOMAINS, ['alpha.test', 'xn--bcher-kva.test']);
    assert.equal(config.SERVE_HOSTNAME, 'settings.example.net');
  });

  it('stops start-up naming the variable: no host name for the records, half a pair, a bad domain', () => {
    assert.match(configError({ SERVE_DOMAINS: 'alpha.test' }), /SERVE_HOSTNAME="": SERVE_DOMAINS is set/);
    assert.match(configError({ MOBILECONFIG_SIGN_CERT: '/x.pem' }), /MOBILECONFIG_SIGN_KEY="": MOBILECONFIG_SIGN_CERT and MOBILECONFIG_SIGN_KEY are set together/);
    assert.match(configError({ TLS_KEY_FILE: '/k.pem' }), /TLS_CERT_FILE="": TLS_CERT_FILE and TLS_KEY_FILE/);
    assert.match(configError({ SERVE_DOMAINS: 'localhost', SERVE_HOSTNAME: 'a.example' }), /SERVE_DOMAINS\.0="localhost": .*single-label/);
    assert.match(configError({ SERVE_HOSTNAME: '127.0.0.1' }), /SERVE_HOSTNAME=.*public host name/);
  });

  it('refuses a served domain no provider file lists', () => {
    assert.throws(() => ServedDomains.create(['alpha.test', 'gamma.test'], db), (error: unknown) => error instanceof ServeConfigError && /gamma\.test/.test(error.message));
  });
});

describe('Host header matching (untrusted input)', () => {
  it('normalises case, port and the trailing dot, and refuses what is not a DNS name', () => {
    assert.equal(hostOfHeader('AutoConfig.Alpha.Test.:443'), 'autoconfig.alpha.test');
    for (const bad of [undefined, '', '[::1]:443', '127.0.0.1 ', 'alpha', 'a_b.test', 'alpha.test/x', `${'a'.repeat(300)}.test`]) {
      const host = hostOfHeader(bad);
      assert.ok(host === undefined || host === '127.0.0.1', `${bad} -> ${host}`);
      assert.equal(served.forHost(bad, 'autoconfig'), undefined);
    }
  });

  it('takes <label>.<domain> or the domain itself for a served domain, nothing else', () => {
    assert.equal(served.forHost('autoconfig.alpha.test', 'autoconfig')?.domain, 'alpha.test');
    assert.equal(served.forHost('alpha.test', 'autoconfig')?.domain, 'alpha.test');
    assert.equal(served.forHost('ua-auto-config.beta.test:8443', 'ua-auto-config')?.domain, 'beta.test');
    for (const host of ['autodiscover.alpha.test', 'evil-autoconfig.alpha.test', 'autoconfig.alpha.test.evil.test', 'autoconfig.gamma.test', 'x.alpha.test', 'test']) {
      assert.equal(served.forHost(host, 'autoconfig'), undefined, host);
    }
  });

  it('gives the lookup hint only for a served domain, with the profile URL only for an address', () => {
    assert.deepEqual(served.autoconfigure({ domain: 'alpha.test', email: 'a+b@alpha.test', localPart: 'a+b' }, 'settings.example.net'), {
      mobileconfigUrl: 'https://settings.example.net/v1/mobileconfig?email=a%2Bb%40alpha.test',
    });
    assert.deepEqual(served.autoconfigure({ domain: 'alpha.test', email: null, localPart: null }, 'settings.example.net'), { mobileconfigUrl: null });
    assert.equal(served.autoconfigure({ domain: 'gmail.com', email: 'x@gmail.com', localPart: 'x' }, 'settings.example.net'), undefined);
  });
});

describe('Autodiscover request reader', () => {
  it('reads the address and the response schema of a POX request (the one this service sends, too)', () => {
    assert.deepEqual(parseAutodiscoverRequestXml(buildAutodiscoverRequest('Jane@Alpha.test')), {
      ok: true,
      address: 'Jane@Alpha.test',
      responseSchema: 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a',
    });
  });

  it('refuses what is not a readable request, each with its code', () => {
    const codes = (xml: string) => {
      const result = parseAutodiscoverRequestXml(xml);
      return result.ok ? 'ok' : result.error;
    };
    assert.equal(codes(''), 'malformed_xml');
    assert.equal(codes('<Other/>'), 'not_autodiscover');
    assert.equal(codes('not xml <'), 'malformed_xml');
    assert.equal(codes(ENTITY_BOMB), 'doctype_refused');
    assert.equal(codes(`<a>${'<b>'.repeat(20)}${'</b>'.repeat(20)}</a>`), 'too_complex');
    assert.equal(codes('<Autodiscover><Request><EMailAddress></EMailAddress></Request></Autodiscover>'), 'no_address');
    assert.equal(codes('<Autodiscover><Response/></Autodiscover>'), 'not_autodiscover');
  });
});

describe('records to publish', () => {
  const published = served.publish('alpha.test', 'settings.example.net');
  const line = (name: string) => published?.zone.split('\n').filter((entry) => entry.startsWith(`${name}. `));

  it('point the autoconfig, Autodiscover and PACC names at the service, with the PACC digest', () => {
    assert.ok(published);
    assert.deepEqual(line('autoconfig.alpha.test'), ['autoconfig.alpha.test. 3600 IN CNAME settings.example.net.']);
    assert.deepEqual(line('autodiscover.alpha.test'), ['autodiscover.alpha.test. 3600 IN CNAME settings.example.net.']);
    assert.deepEqual(line('ua-auto-config.alpha.test'), ['ua-auto-config.alpha.test. 3600 IN CNAME settings.example.net.']);
    assert.deepEqual(line('_autodiscover._tcp.alpha.test'), ['_autodiscover._tcp.alpha.test. 3600 IN SRV 0 0 443 settings.example.net.']);
    const txt = published.records.find((record) => record.type === 'TXT');
    assert.equal(txt?.type === 'TXT' && txt.text, served.get('alpha.test')?.pacc?.txt);
    assert.deepEqual(line('_ua-auto-config.alpha.test'), [`_ua-auto-config.alpha.test. 3600 IN TXT "${served.get('alpha.test')?.pacc?.txt}"`]);
    assert.equal(published.zone.trim().split('\n').length, published.records.length);
  });

  it('list RFC 6186 SRV records ranked TLS first across labels, and "." for a service not offered', () => {
    assert.deepEqual(line('_imaps._tcp.alpha.test'), ['_imaps._tcp.alpha.test. 3600 IN SRV 0 1 993 imap.alpha.test.']);
    assert.deepEqual(line('_imap._tcp.alpha.test'), ['_imap._tcp.alpha.test. 3600 IN SRV 10 1 143 imap.alpha.test.']);
    assert.deepEqual(line('_pop3._tcp.alpha.test'), ['_pop3._tcp.alpha.test. 3600 IN SRV 0 0 0 .']);
    assert.deepEqual(line('_submission._tcp.alpha.test'), ['_submission._tcp.alpha.test. 3600 IN SRV 10 1 587 smtp.alpha.test.']);
  });

  it('leave PACC out, with a note, for a provider PACC cannot describe; nothing for an unserved domain', () => {
    const beta = served.publish('beta.test', 'settings.example.net');
    assert.ok(beta);
    assert.equal(beta.records.some((record) => record.name.includes('ua-auto-config')), false);
    assert.match(beta.notes.join(' '), /No PACC records/);
    assert.equal(served.publish('gamma.test', 'settings.example.net'), undefined);
  });

  it('escape quotes in TXT zone lines', () => {
    assert.equal(zoneLine({ type: 'TXT', name: 'x.test', ttl: 60, purpose: '', text: 'a"b\\c' }), 'x.test. 60 IN TXT "a\\"b\\\\c"');
  });
});
