import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate authority made at test time, and a way to issue leaf certificates from it. */
export interface TestCa {
  /** PEM of the CA certificate: pass it to the HTTP client as `ca`. */
  cert: string;
  /**
   * Issues a key and certificate valid for the given DNS names (and IP addresses, if any);
   * `extendedKeyUsage` in openssl's syntax (default serverAuth; e.g. emailProtection to sign profiles).
   */
  issue(names: string[], options?: { ips?: string[]; days?: number; extendedKeyUsage?: string }): { key: string; cert: string };
  /** Removes the working directory. */
  dispose(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Creates a fresh CA with the openssl CLI (EC P-256 keys: fast to make). */
export function createTestCa(name = 'mailsettings test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'mailsettings-ca-'));
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(
    ['req', '-x509', '-new', '-key', 'ca.key', '-days', '2', '-subj', `/CN=${name}`, '-out', 'ca.pem',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  let serial = 0;
  return {
    cert: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    issue(names, options = {}) {
      serial += 1;
      const base = `leaf${serial}`;
      const alt = [...names.map((entry) => `DNS:${entry}`), ...(options.ips ?? []).map((ip) => `IP:${ip}`)].join(',');
      writeFileSync(join(dir, `${base}.ext`), `subjectAltName=${alt}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=${options.extendedKeyUsage ?? 'serverAuth'}\n`);
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${base}.key`], dir);
      openssl(['req', '-new', '-key', `${base}.key`, '-subj', `/CN=${names[0] ?? 'leaf'}`, '-out', `${base}.csr`], dir);
      openssl(
        ['x509', '-req', '-in', `${base}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(1000 + serial),
          '-days', String(options.days ?? 2), '-extfile', `${base}.ext`, '-out', `${base}.pem`],
        dir,
      );
      return { key: readFileSync(join(dir, `${base}.key`), 'utf8'), cert: readFileSync(join(dir, `${base}.pem`), 'utf8') };
    },
    dispose() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
