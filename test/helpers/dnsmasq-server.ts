import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectOutput } from './child-output.js';

/** Records a test dnsmasq serves; every other name under the local zones is NXDOMAIN. */
export interface DnsmasqZone {
  /** name → IPv4 or IPv6 addresses */
  hosts?: Record<string, string[]>;
  /** domain → MX hosts with preference */
  mx?: Record<string, { host: string; preference: number }[]>;
  /** _service._tcp.domain → SRV targets ('.' = service decidedly not offered) */
  srv?: Record<string, { target: string; port: number; priority: number; weight: number }[]>;
  /** Zones answered locally and never forwarded (default: test, example). */
  localZones?: string[];
  ttlS?: number;
}

/** A running dnsmasq: "address:port" for DNS_SERVERS, and how to stop it. */
export interface Dnsmasq {
  server: string;
  dir: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * Starts a real dnsmasq (Debian dnsmasq-base) on a loopback address, in the foreground as a child
 * of the test, answering only from the given zone (no upstream, no /etc/hosts).
 */
export async function startDnsmasq(address: string, port: number, zone: DnsmasqZone): Promise<Dnsmasq> {
  const dir = mkdtempSync(join(tmpdir(), 'dnsmasq-'));
  const lines = [
    `port=${port}`,
    `listen-address=${address}`,
    'bind-interfaces',
    'no-resolv',
    'no-hosts',
    'no-poll',
    'log-queries',
    `local-ttl=${zone.ttlS ?? 60}`,
    ...(zone.localZones ?? ['test', 'example']).map((name) => `local=/${name}/`),
    ...Object.entries(zone.hosts ?? {}).map(([name, addresses]) => `host-record=${name},${addresses.join(',')}`),
    ...Object.entries(zone.mx ?? {}).flatMap(([name, records]) => records.map((mx) => `mx-host=${name},${mx.host},${mx.preference}`)),
    ...Object.entries(zone.srv ?? {}).flatMap(([name, records]) =>
      records.map((srv) => (srv.target === '.' ? `srv-host=${name}` : `srv-host=${name},${srv.target},${srv.port},${srv.priority},${srv.weight}`)),
    ),
  ];
  writeFileSync(join(dir, 'dnsmasq.conf'), `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn(
    '/usr/sbin/dnsmasq',
    // The log (queries included) goes to stderr, where the start line is awaited.
    ['--keep-in-foreground', `--conf-file=${join(dir, 'dnsmasq.conf')}`, `--pid-file=${join(dir, 'dnsmasq.pid')}`, '--log-facility=-', '--user=root'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const output = collectOutput(child);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // dnsmasq binds its listener before it logs "started"; one query proves it answers (any
    // answer, NXDOMAIN included).
    await output.waitFor(/started, version/, { timeoutMs: 5_000, what: "dnsmasq's start line" });
    const resolver = new Resolver({ timeout: 1_000, tries: 1 });
    resolver.setServers([`${address}:${port}`]);
    await resolver.resolve4('ready-probe.test').catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOTFOUND' && error.code !== 'ENODATA') throw new Error(`dnsmasq did not answer on ${address}:${port}: ${error.code}\n${output.all()}`);
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { server: `${address}:${port}`, dir, log: () => output.all(), stop };
}
