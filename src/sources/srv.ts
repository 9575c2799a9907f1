import type { Protocol, Security } from '../api/schemas.js';
import type { DnsResolver, SrvRecord } from '../net/dns.js';
import { isPublicHostName } from '../api/input.js';
import { securityOfPort } from '../formats/port-security.js';
import type { CandidateServer, Source, SourceResult } from './types.js';
import { SOURCE_TABLE } from './source-table.js';

/** The RFC 6186 / RFC 8314 service labels and what each one means. */
export const SRV_SERVICES: readonly { label: string; protocol: Protocol; security: Security }[] = [
  { label: '_imaps._tcp', protocol: 'imap', security: 'tls' },
  { label: '_imap._tcp', protocol: 'imap', security: 'starttls' },
  { label: '_pop3s._tcp', protocol: 'pop3', security: 'tls' },
  { label: '_pop3._tcp', protocol: 'pop3', security: 'starttls' },
  { label: '_submissions._tcp', protocol: 'smtp', security: 'tls' },
  { label: '_submission._tcp', protocol: 'smtp', security: 'starttls' },
];


/**
 * RFC 2782 order: lower priority first; within a priority, higher weight first (a deterministic
 * stand-in for the weighted random pick, so every client sees the same answer).
 */
export function orderSrv(records: readonly SrvRecord[]): SrvRecord[] {
  return [...records].sort((a, b) => a.priority - b.priority || b.weight - a.weight || a.name.localeCompare(b.name));
}

/** True for the RFC 2782 "service decidedly not available" answer: a single record whose target is `.`. */
export function isNullTarget(records: readonly SrvRecord[]): boolean {
  return records.some((record) => record.name === '' || record.name === '.');
}

/** The HTTPS hosts a service's SRV record names (for JMAP and Autodiscover), or why there are none. */
export type HttpsSrvTargets =
  | { kind: 'targets'; hosts: string[]; notes: string[] }
  | { kind: 'none'; notOffered: boolean; detail: string }
  | { kind: 'failed'; failure: SourceResult };

/**
 * Looks up an SRV record whose targets are fetched over HTTPS: its targets in RFC 2782 order,
 * deduplicated. Security: a target becomes part of a URL, so only a public host name is kept, and
 * only on port 443 (the URL carries no port, and the HTTP client allows no other); what was skipped
 * is said in `notes`. A `.` target means the service is not offered.
 */
export async function httpsSrvTargets(dns: DnsResolver, name: string, signal: AbortSignal): Promise<HttpsSrvTargets> {
  const answer = await dns.srv(name, signal);
  if (!answer.ok) {
    if (answer.kind === 'not-found') return { kind: 'none', notOffered: false, detail: `no SRV record ${name}` };
    const detail = `${name}: ${answer.code}`;
    const failure: SourceResult =
      answer.kind === 'timeout' ? { outcome: 'timeout', detail, url: name } : { outcome: 'error', error: 'dns_failed', detail, url: name };
    return { kind: 'failed', failure };
  }
  if (isNullTarget(answer.records)) return { kind: 'none', notOffered: true, detail: `${name}: not offered (target ".")` };
  const hosts: string[] = [];
  const notes: string[] = [];
  for (const record of orderSrv(answer.records)) {
    const host = record.name.toLowerCase().replace(/\.$/, '');
    if (!isPublicHostName(host)) notes.push(`${name}: invalid target dropped`);
    else if (record.port !== 443) notes.push(`${name}: ${host} port ${record.port} skipped (only port 443 is fetched)`);
    else if (!hosts.includes(host)) hosts.push(host);
  }
  return { kind: 'targets', hosts, notes };
}

/**
 * Source 4: DNS SRV records (RFC 6186, RFC 8314) for IMAP, POP3 and submission, all queried at once.
 * A target of `.` means the service is not offered: it is dropped, never replaced by a fallback.
 * Security: targets are untrusted names and are only reported (checks connect through the policy).
 */
export function createSrvSource(dns: DnsResolver): Source {
  return {
    ...SOURCE_TABLE.srv,
    async lookup({ subject, signal }): Promise<SourceResult> {
      const answers = await Promise.all(
        SRV_SERVICES.map(async (service) => {
          const name = `${service.label}.${subject.domain}`;
          return { service, name, answer: await dns.srv(name, signal) };
        }),
      );
      const servers: CandidateServer[] = [];
      const notes: string[] = [];
      let failures = 0;
      let timeouts = 0;
      for (const { service, name, answer } of answers) {
        if (!answer.ok) {
          if (answer.kind === 'timeout') timeouts += 1;
          else if (answer.kind === 'error') failures += 1;
          if (answer.kind !== 'not-found') notes.push(`${name}: ${answer.code}`);
          continue;
        }
        if (isNullTarget(answer.records)) {
          notes.push(`${name}: not offered (target ".")`);
          continue;
        }
        for (const record of orderSrv(answer.records)) {
          const host = record.name.toLowerCase().replace(/\.$/, '');
          if (!isPublicHostName(host) || record.port < 1 || record.port > 65535) {
            notes.push(`${name}: invalid target dropped`);
            continue;
          }
          servers.push({
            protocol: service.protocol,
            host,
            port: record.port,
            // RFC 8314 §3 and §5.1: a client connecting to 465, 993 or 995 starts TLS at once, whatever
            // the service label says (an `_imap._tcp` or `_submission._tcp` target on 993 or 465 is
            // implicit TLS, never STARTTLS).
            security: securityOfPort(record.port) ?? service.security,
            username: '%EMAILADDRESS%',
            authentication: ['password-cleartext'],
            source: `srv:${name}`,
            trusted: true,
          });
        }
      }
      const url = `_*._tcp.${subject.domain}`;
      const detail = notes.length ? notes.join('; ') : undefined;
      if (servers.length > 0) {
        return { outcome: 'found', servers, url, detail: `${servers.length} SRV target(s)${detail ? `; ${detail}` : ''}` };
      }
      if (timeouts > 0 && timeouts + failures === SRV_SERVICES.length) {
        return { outcome: 'timeout', url, detail: detail ?? 'every SRV query timed out' };
      }
      if (failures + timeouts > 0) return { outcome: 'error', error: 'dns_failed', url, detail: detail ?? 'SRV queries failed' };
      return { outcome: 'not-found', url, detail: detail ?? 'no SRV records for mail services' };
    },
  };
}
