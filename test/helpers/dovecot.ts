import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { collectOutput } from './child-output.js';

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

/** One address the test Dovecot listens on, with the certificate it presents there. */
export interface DovecotListen {
  address: string;
  cert: CertFiles;
}

/** A running test Dovecot. */
export interface Dovecot {
  log(): string;
  stop(): Promise<void>;
}

/** The mail ports the test Dovecot opens on every listen address. */
export const DOVECOT_PORTS = { imap: 143, imaps: 993, pop3: 110, pop3s: 995, submission: 587, submissions: 465 } as const;

/**
 * Makes sure no other Dovecot (the Debian system instance) holds the mail ports on every address:
 * asks the init system to stop it, never kills by name. Throws when a wildcard listener remains.
 */
export function ensureMailPortsFree(): void {
  const listening = () => {
    try {
      return execFileSync('ss', ['-ltnH'], { encoding: 'utf8' });
    } catch {
      return '';
    }
  };
  const wildcard = (text: string) =>
    Object.values(DOVECOT_PORTS).filter((port) => new RegExp(`(\\*|0\\.0\\.0\\.0|\\[::\\]):${port}\\s`).test(text));
  if (wildcard(listening()).length === 0) return;
  try {
    execFileSync('service', ['dovecot', 'stop'], { stdio: 'ignore' });
  } catch {
    // no init system: reported below
  }
  const still = wildcard(listening());
  if (still.length > 0) throw new Error(`ports ${still.join(', ')} are held on every address (system dovecot?): stop it first`);
}

/**
 * Starts a real Dovecot (imapd, pop3d, submissiond) in the foreground as a child of the test, with a
 * generated configuration in `dir` (base_dir, state_dir and logs there too). It listens on the given
 * loopback addresses, each with its own certificate (`local` blocks). Nobody can log in: the password
 * file is empty, and checks never authenticate anyway. Submission relays to a closed loopback port.
 */
export async function startDovecot(dir: string, listen: DovecotListen[]): Promise<Dovecot> {
  ensureMailPortsFree();
  const [first] = listen;
  if (!first) throw new Error('startDovecot needs at least one address');
  // Dovecot's unprivileged login processes must be able to reach base_dir (so must its parents).
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o755);
  for (const sub of ['run', 'state', 'mail']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(join(dir, 'users'), '');
  const listener = (name: string, port: number, ssl: boolean) =>
    `  inet_listener ${name} {\n    port = ${port}\n${ssl ? '    ssl = yes\n' : ''}  }`;
  const config = [
    `base_dir = ${join(dir, 'run')}`,
    `state_dir = ${join(dir, 'state')}`,
    // Every log line on the child's stderr, where the start line is awaited.
    'log_path = /dev/stderr',
    'protocols = imap pop3 submission',
    `listen = ${listen.map((entry) => entry.address).join(', ')}`,
    'hostname = mail.dovecot.test',
    'login_greeting = Dovecot test ready.',
    'ssl = yes',
    `ssl_cert = <${first.cert.certFile}`,
    `ssl_key = <${first.cert.keyFile}`,
    'auth_mechanisms = plain login',
    'disable_plaintext_auth = yes',
    `mail_location = maildir:${join(dir, 'mail')}/%u`,
    `passdb {\n  driver = passwd-file\n  args = ${join(dir, 'users')}\n}`,
    `userdb {\n  driver = static\n  args = uid=nobody gid=nogroup home=${join(dir, 'mail')}/%u\n}`,
    `submission_relay_host = ${first.address}`,
    'submission_relay_port = 2525',
    ...listen.slice(1).map((entry) => `local ${entry.address} {\n  ssl_cert = <${entry.cert.certFile}\n  ssl_key = <${entry.cert.keyFile}\n}`),
    `service imap-login {\n${listener('imap', DOVECOT_PORTS.imap, false)}\n${listener('imaps', DOVECOT_PORTS.imaps, true)}\n}`,
    `service pop3-login {\n${listener('pop3', DOVECOT_PORTS.pop3, false)}\n${listener('pop3s', DOVECOT_PORTS.pop3s, true)}\n}`,
    `service submission-login {\n${listener('submission', DOVECOT_PORTS.submission, false)}\n${listener('submissions', DOVECOT_PORTS.submissions, true)}\n}`,
    '',
  ].join('\n');
  const configPath = join(dir, 'dovecot.conf');
  writeFileSync(configPath, config);
  const child = spawn('/usr/sbin/dovecot', ['-F', '-c', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
  const output = collectOutput(child);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  };
  try {
    // The master binds every listener before it logs "starting up"; a connection made then waits in
    // the backlog until a login process greets it, so one greeting per address proves it serves.
    await output.waitFor(/starting up/, { timeoutMs: 10_000, what: "Dovecot's start line" });
    for (const entry of listen) {
      if (!(await greets(entry.address, DOVECOT_PORTS.imap, /Dovecot test ready/))) throw new Error(`dovecot did not greet on ${entry.address}:\n${output.all()}`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { log: () => output.all(), stop };
}

/** Whether a server greets with `pattern` within 10 s (a guard: a greeting normally comes at once). */
function greets(address: string, port: number, pattern: RegExp): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    let text = '';
    const done = (value: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(false), 10_000);
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (pattern.test(text)) done(true);
    });
    socket.on('error', () => done(false));
    socket.on('close', () => done(false));
  });
}

/** The loopback world of the Dovecot tests and benchmarks (127.0.3.0/24). */
export const DOVECOT_WORLD = {
  good: '127.0.3.10',
  selfSigned: '127.0.3.11',
  expired: '127.0.3.12',
  /** Outside `allowCidrs`: the address policy refuses it. */
  refused: '127.0.3.200',
  dns: { address: '127.0.3.53', port: 5353 },
  allowCidrs: '127.0.3.0/25',
  /** Names of a domain that publishes nothing but servers under the usual names. */
  guessNames: ['imap.guess.test', 'pop3.guess.test', 'smtp.guess.test'],
} as const;

/** A running Dovecot world: the CA to trust, the DNS server to use, and a way to stop it all. */
export interface DovecotWorld {
  caFile: string;
  caPem: string;
  dnsServer: string;
  stop(): Promise<void>;
}

/**
 * Starts a real Dovecot on three loopback addresses (CA-signed, self-signed and expired
 * certificates) and a real dnsmasq naming them: mail/selfsigned/expired/blocked.dovecot.test and
 * the guess.test servers. Used by the end-to-end tests and the guessing benchmark.
 */
export async function startDovecotWorld(dir: string): Promise<DovecotWorld> {
  const { startDnsmasq } = await import('./dnsmasq-server.js');
  chmodSync(dir, 0o755);
  const w = DOVECOT_WORLD;
  const certs = createMailCerts(dir);
  const good = certs.issue('mail.dovecot.test', ['mail.dovecot.test', ...w.guessNames]);
  const selfSigned = certs.selfSigned('selfsigned.dovecot.test', ['selfsigned.dovecot.test']);
  const expired = certs.issue('expired.dovecot.test', ['expired.dovecot.test'], { start: '20240101000000Z', end: '20240301000000Z' });
  const dovecot = await startDovecot(join(dir, 'dovecot'), [
    { address: w.good, cert: good },
    { address: w.selfSigned, cert: selfSigned },
    { address: w.expired, cert: expired },
  ]);
  try {
    const dnsmasq = await startDnsmasq(w.dns.address, w.dns.port, {
      hosts: {
        'mail.dovecot.test': [w.good],
        'selfsigned.dovecot.test': [w.selfSigned],
        'expired.dovecot.test': [w.expired],
        'blocked.dovecot.test': [w.refused],
        // guess.test publishes no autoconfig, SRV or MX: only servers under the usual names.
        ...Object.fromEntries(w.guessNames.map((name) => [name, [w.good]])),
      },
    });
    return {
      caFile: certs.caFile,
      caPem: certs.caPem,
      dnsServer: dnsmasq.server,
      stop: async () => {
        await dnsmasq.stop();
        await dovecot.stop();
      },
    };
  } catch (error) {
    await dovecot.stop();
    throw error;
  }
}
