// Signed Apple profiles: the system openssl signs, and `openssl cms -verify` against the test CA accepts them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { parse as parsePlist } from 'plist';
import { loadProviderDb } from '../../src/provider-db/provider-db.js';
import { ProfileSigner, ServeConfigError } from '../../src/serve/profile-signer.js';
import { buildTestApp } from '../helpers/app.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

describe('signed Apple configuration profiles', () => {
  let ca: TestCa;
  let other: TestCa;
  let dir: string;
  let app: FastifyInstance;
  const file = (name: string, text: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  /** `openssl cms -verify` of DER bytes against a CA file: the signed content, or the failure. */
  const verify = (der: Buffer, caFile: string): { ok: true; content: string } | { ok: false; message: string } => {
    const input = file('signed.der', der);
    try {
      const content = execFileSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', input, '-CAfile', caFile], { stdio: ['ignore', 'pipe', 'pipe'] });
      return { ok: true, content: content.toString('utf8') };
    } catch (error) {
      return { ok: false, message: String((error as { stderr?: Buffer }).stderr ?? error) };
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailsettings-signing-'));
    ca = createTestCa('profile signing test CA');
    other = createTestCa('another CA');
    const signing = ca.issue(['settings.serve.test'], { extendedKeyUsage: 'emailProtection' });
    file('ca.pem', ca.cert);
    file('other-ca.pem', other.cert);
    file('signing.pem', signing.cert);
    file('signing.key', signing.key);
    const providerDb = await loadProviderDb({ extraDir: fileURLToPath(new URL('../fixtures/providers-serve/', import.meta.url)) });
    app = await buildTestApp(
      { SERVE_DOMAINS: 'alpha.test', SERVE_HOSTNAME: 'settings.serve.test', MOBILECONFIG_SIGN_CERT: join(dir, 'signing.pem'), MOBILECONFIG_SIGN_KEY: join(dir, 'signing.key') },
      { providerDb },
    );
  });

  after(async () => {
    await app?.close();
    ca?.dispose();
    other?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a CMS-signed profile that openssl verifies against the CA and whose content is the property list', async () => {
    const response = await app.inject({ method: 'GET', url: '/v1/mobileconfig?email=jane%40alpha.test' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.headers['content-type'], 'application/x-apple-aspen-config');
    const der = response.rawPayload;
    assert.equal(der[0], 0x30, 'a DER SEQUENCE, not XML');
    const verified = verify(der, join(dir, 'ca.pem'));
    assert.ok(verified.ok, verified.ok ? '' : verified.message);
    const profile = parsePlist(verified.content) as { PayloadContent: { EmailAddress: string; IncomingMailServerHostName: string }[] };
    assert.equal(profile.PayloadContent[0]?.EmailAddress, 'jane@alpha.test');
    assert.equal(profile.PayloadContent[0]?.IncomingMailServerHostName, 'imap.alpha.test');
    assert.equal(verify(der, join(dir, 'other-ca.pem')).ok, false, 'another CA does not verify it');
  });

  it('includes the chain given after the signing certificate', async () => {
    const pair = ca.issue(['chain.serve.test'], { extendedKeyUsage: 'emailProtection' });
    const chained = file('chained.pem', `${pair.cert}${ca.cert}`);
    const leafKey = file('chained.key', pair.key);
    const signer = await ProfileSigner.create({ certFile: chained, keyFile: leafKey });
    try {
      const signed = await signer.sign(Buffer.from('<plist/>'));
      assert.ok(signed.ok);
      const printed = execFileSync('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', file('chain.der', signed.der)]).toString();
      assert.equal(printed.match(/subject: CN=/g)?.length, 2, 'signer and CA certificate');
    } finally {
      await signer.close();
    }
  });

  it('refuses at start-up a key that does not match, a missing file and a file without a certificate', async () => {
    const stranger = other.issue(['x.test']);
    const mismatched = file('stranger.key', stranger.key);
    await assert.rejects(ProfileSigner.create({ certFile: join(dir, 'signing.pem'), keyFile: mismatched }), (error: unknown) => error instanceof ServeConfigError && /cannot sign/.test(error.message));
    await assert.rejects(ProfileSigner.create({ certFile: join(dir, 'missing.pem'), keyFile: mismatched }), (error: unknown) => error instanceof ServeConfigError && /cannot read/.test(error.message));
    await assert.rejects(ProfileSigner.create({ certFile: mismatched, keyFile: mismatched }), (error: unknown) => error instanceof ServeConfigError && /no PEM certificate/.test(error.message));
  });

  it('refuses signatures beyond its concurrency as busy, without running openssl for them', async () => {
    const signer = await ProfileSigner.create({ certFile: join(dir, 'signing.pem'), keyFile: join(dir, 'signing.key'), maxConcurrent: 1 });
    try {
      const results = await Promise.all([signer.sign(Buffer.from('a')), signer.sign(Buffer.from('b'))]);
      assert.deepEqual(results.map((result) => (result.ok ? 'ok' : result.code)), ['ok', 'busy']);
    } finally {
      await signer.close();
    }
  });
});
