import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** PEM key and certificate files of one test server identity. */
export interface CertFiles {
  key: string;
  cert: string;
  keyFile: string;
  certFile: string;
}

/** Test certificates made with the openssl CLI at test time (EC P-256: fast). */
export interface MailCerts {
  /** PEM of the test CA: the trust anchor (NODE_EXTRA_CA_CERTS or the checker's extraCa). */
  caPem: string;
  caFile: string;
  /** Issues a CA-signed certificate for the names, optionally with a validity window in the past. */
  issue(name: string, altNames: string[], window?: { start: string; end: string }): CertFiles;
  /** A self-signed certificate (no CA vouches for it). */
  selfSigned(name: string, altNames: string[]): CertFiles;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * Creates a test CA in `dir`. Certificates with a chosen validity window (e.g. expired) go through
 * `openssl ca -startdate/-enddate`, which OpenSSL 3.0 supports (no faketime needed).
 */
export function createMailCerts(dir: string): MailCerts {
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key'], dir);
  openssl(
    ['req', '-x509', '-new', '-key', 'ca.key', '-days', '120', '-subj', '/CN=mailsettings probe test CA', '-out', 'ca.pem',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    ['[ca]', 'default_ca = test', '[test]', 'dir = .', 'database = index.txt', 'new_certs_dir = .', 'serial = serial',
      'default_md = sha256', 'policy = any', 'unique_subject = no', 'default_days = 90', '[any]', 'commonName = supplied', ''].join('\n'),
  );
  let count = 0;
  const files = (base: string): CertFiles => ({
    keyFile: join(dir, `${base}.key`),
    certFile: join(dir, `${base}.pem`),
    key: readFileSync(join(dir, `${base}.key`), 'utf8'),
    cert: readFileSync(join(dir, `${base}.pem`), 'utf8'),
  });
  const extFile = (base: string, altNames: string[]) => {
    writeFileSync(
      join(dir, `${base}.ext`),
      `subjectAltName=${altNames.map((entry) => `DNS:${entry}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
    );
    return `${base}.ext`;
  };
  return {
    caFile: join(dir, 'ca.pem'),
    caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    issue(name, altNames, window) {
      count += 1;
      const base = `leaf${count}`;
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${base}.key`], dir);
      openssl(['req', '-new', '-key', `${base}.key`, '-subj', `/CN=${name}`, '-out', `${base}.csr`], dir);
      const ext = extFile(base, altNames);
      openssl(
        ['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${base}.csr`, '-out', `${base}.pem`,
          '-notext', '-extfile', ext, ...(window ? ['-startdate', window.start, '-enddate', window.end] : ['-days', '90'])],
        dir,
      );
      return files(base);
    },
    selfSigned(name, altNames) {
      count += 1;
      const base = `self${count}`;
      openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${base}.key`], dir);
      openssl(
        ['req', '-x509', '-new', '-key', `${base}.key`, '-days', '90', '-subj', `/CN=${name}`, '-out', `${base}.pem`,
          '-addext', `subjectAltName=${altNames.map((entry) => `DNS:${entry}`).join(',')}`],
        dir,
      );
      return files(base);
    },
  };
}
