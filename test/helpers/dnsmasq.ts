import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { collectOutput } from './child-output.js';

/** Where Debian's dnsmasq-base installs the binary. */
export const DNSMASQ = '/usr/sbin/dnsmasq';

/** A running dnsmasq serving only the records it was given (no upstream, no /etc/hosts). */
export interface Dnsmasq {
  /** "address:port" for DNS_SERVERS. */
  server: string;
  log(): string;
  stop(): Promise<void>;
}

/** Records in dnsmasq's own option syntax. */
export interface DnsmasqRecords {
  /** name → IPv4 address (host-record, exact name only). */
  hosts?: Record<string, string>;
  /** [service name, target, port, priority, weight]; target omitted = "service not offered". */
  srv?: [string, string?, number?, number?, number?][];
  /** [domain, exchange, preference]. */
  mx?: [string, string, number][];
  /** [name, text]: a TXT record of one string (--txt-record; the text must not contain `,`). */
  txt?: [string, string][];
  /** Zones answered locally (NXDOMAIN for unknown names instead of REFUSED). */
  local?: string[];
  /** [alias, target]: a CNAME (--cname); the target must be a name this dnsmasq answers itself (a host-record). */
  cname?: [string, string][];
}

/** True when dnsmasq is installed and the test runs as root (it binds a privileged setup). */
export function dnsmasqAvailable(): boolean {
  return existsSync(DNSMASQ) && process.getuid?.() === 0;
}

/** Starts dnsmasq in the foreground on a loopback address; resolves once it answers. */
export async function startDnsmasq(address: string, port: number, records: DnsmasqRecords): Promise<Dnsmasq> {
  const args = [
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--conf-file=/dev/null',
    `--listen-address=${address}`,
    `--port=${port}`,
    '--bind-interfaces',
    '--log-facility=-',
    '--user=root',
    '--pid-file=',
    ...(records.local ?? []).map((zone) => `--local=/${zone}/`),
    ...Object.entries(records.hosts ?? {}).map(([name, ip]) => `--host-record=${name},${ip},60`),
    ...(records.srv ?? []).map((entry) => `--srv-host=${entry.filter((part) => part !== undefined).join(',')}`),
    ...(records.mx ?? []).map(([domain, exchange, preference]) => `--mx-host=${domain},${exchange},${preference}`),
    ...(records.cname ?? []).map(([alias, target]) => `--cname=${alias},${target}`),
    ...(records.txt ?? []).map(([name, text]) => {
      // One argv entry (no shell), so `;` and spaces arrive verbatim. dnsmasq unquotes only in
      // config files: quotes here would become part of the record; a comma starts another string.
      if (text.includes(',')) throw new Error(`TXT text for ${name} must not contain a comma`);
      return `--txt-record=${name},${text}`;
    }),
  ];
  const child: ChildProcess = spawn(DNSMASQ, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collectOutput(child);
  const exited = once(child, 'exit');
  // dnsmasq binds its listener before it logs "started" (with --log-facility=-, on stderr).
  try {
    await output.waitFor(/started, version/, { timeoutMs: 5_000, what: 'dnsmasq\'s start line' });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    server: `${address}:${port}`,
    log: () => output.all(),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
