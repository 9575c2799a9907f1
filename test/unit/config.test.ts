import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/env.js';

describe('configuration', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    assert.equal(config.PORT, 8080);
    assert.equal(config.HOST, '0.0.0.0');
    assert.equal(config.LOOKUP_TIMEOUT_MS, 8000);
    assert.deepEqual(config.DNS_SERVERS, []);
    assert.deepEqual(config.PROBE_ALLOW_CIDRS, []);
    assert.deepEqual(config.ISPDB_URLS, ['https://autoconfig.thunderbird.net/v1.1/', 'https://v1.ispdb.net/']);
  });

  it('parses lists', () => {
    const config = loadConfig({ DNS_SERVERS: '127.0.0.53:5353, [::1]:53,9.9.9.9', PROBE_ALLOW_CIDRS: '127.0.0.0/8,::1/128' });
    assert.deepEqual(config.DNS_SERVERS, ['127.0.0.53:5353', '[::1]:53', '9.9.9.9']);
    assert.deepEqual(config.PROBE_ALLOW_CIDRS, ['127.0.0.0/8', '::1/128']);
  });

  it('stops on bad values with a message naming each variable', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', DNS_SERVERS: 'dns.google', PROBE_ALLOW_CIDRS: '10.0.0.0/33', LOG_LEVEL: 'loud' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        for (const name of ['PORT', 'DNS_SERVERS', 'PROBE_ALLOW_CIDRS', 'LOG_LEVEL']) assert.match(error.message, new RegExp(name));
        return true;
      },
    );
  });

  it('reads ISPDB_URLS as a list; ISPDB_URL still works as its one-entry alias, and empty disables', () => {
    assert.deepEqual(loadConfig({ ISPDB_URLS: 'https://a.test/v1.1/, https://b.test/' }).ISPDB_URLS, ['https://a.test/v1.1/', 'https://b.test/']);
    assert.deepEqual(loadConfig({ ISPDB_URL: 'https://a.test/v1.1/' }).ISPDB_URLS, ['https://a.test/v1.1/']);
    assert.deepEqual(loadConfig({ ISPDB_URLS: 'https://b.test/', ISPDB_URL: 'https://a.test/' }).ISPDB_URLS, ['https://b.test/']);
    assert.deepEqual(loadConfig({ ISPDB_URL: '' }).ISPDB_URLS, []);
    assert.deepEqual(loadConfig({ ISPDB_URLS: '' }).ISPDB_URLS, []);
    assert.throws(() => loadConfig({ ISPDB_URL: 'ftp://x' }), ConfigError);
    assert.throws(() => loadConfig({ ISPDB_URLS: 'https://a.test/,ftp://x' }), /ISPDB_URLS/);
  });
});
