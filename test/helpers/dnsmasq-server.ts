import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
    ['--keep-in-foreground', `--conf-file=${join(dir, 'dnsmasq.conf')}`, `--pid-file=${join(dir, 'dnsmasq.pid')}`, `--log-facility=${join(dir, 'dnsmasq.log')}`, '--user=root'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const log = () => {
    try {
      return readFileSync(join(dir, 'dnsmasq.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Ready when it answers a query (any answer, NXDOMAIN included).
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`${address}:${port}`]);
  for (let i = 0; i < 50; i += 1) {
    if (child.exitCode !== null) throw new Error(`dnsmasq exited: ${stderr}`);
    try {
      await resolver.resolve4('ready-probe.test');
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOTFOUND' || (error as NodeJS.ErrnoException).code === 'ENODATA') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (i === 49) {
      await stop();
      throw new Error(`dnsmasq did not answer on ${address}:${port}: ${stderr}`);
    }
  }
  return { server: `${address}:${port}`, dir, log, stop };
}
