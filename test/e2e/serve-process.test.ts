// The service process refuses a serving set-up it cannot honour, before it listens anywhere.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { spawnService } from '../helpers/service-process.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';

const SERVE_FIXTURES = fileURLToPath(new URL('../fixtures/providers-serve/', import.meta.url));

/** Runs src/server.ts (127.0.20.11 if it ever got as far as listening) and returns its exit code and stderr. */
async function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const service = spawnService({ HOST: '127.0.20.11', ISPDB_URLS: '', DNS_SERVERS: '127.0.20.11:9', PROVIDERS_DIR: SERVE_FIXTURES, ...env });
  // Should it start after all, it must not outlive the test (the wait ends, unmet, when it exits).
  service.output.waitFor(/Server listening/).then(
    () => service.child.kill('SIGKILL'),
    () => {},
  );
  const code = await service.exited;
  return { code, stderr: service.output.stderr() };
}

describe('the service process with a serving set-up it cannot honour', { timeout: 60_000 }, () => {
  let ca: TestCa;
  let dir: string;
  before(() => {
    ca = createTestCa('serve process CA');
    dir = mkdtempSync(join(tmpdir(), 'mailsettings-serve-process-'));
  });
  after(() => {
    ca?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stops naming a served domain no provider file lists', async () => {
    const { code, stderr } = await start({ SERVE_DOMAINS: 'alpha.test,gamma.test', SERVE_HOSTNAME: 'settings.serve.test' });
    assert.equal(code, 1);
    assert.match(stderr, /cannot start\.\nSERVE_DOMAINS: no provider file lists the domain gamma\.test/);
  });

  it('stops naming an unreadable TLS file', async () => {
    const { code, stderr } = await start({ TLS_CERT_FILE: join(dir, 'missing.pem'), TLS_KEY_FILE: join(dir, 'missing.key') });
    assert.equal(code, 1);
    assert.match(stderr, /TLS_CERT_FILE: cannot read .*missing\.pem/);
  });

  it('stops when the profile signing key does not belong to the certificate', async () => {
    const signing = ca.issue(['settings.serve.test'], { extendedKeyUsage: 'emailProtection' });
    const stranger = ca.issue(['other.serve.test']);
    writeFileSync(join(dir, 'signing.pem'), signing.cert);
    writeFileSync(join(dir, 'stranger.key'), stranger.key);
    const { code, stderr } = await start({ MOBILECONFIG_SIGN_CERT: join(dir, 'signing.pem'), MOBILECONFIG_SIGN_KEY: join(dir, 'stranger.key') });
    assert.equal(code, 1);
    assert.match(stderr, /MOBILECONFIG_SIGN_CERT\/MOBILECONFIG_SIGN_KEY: cannot sign with/);
  });
});
