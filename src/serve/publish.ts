import type { Protocol, Security } from '../api/schemas.js';
import type { PublishedRecord, PublishResult } from '../api/serve-schemas.js';
import { byProtocolAndSecurity } from '../formats/rank.js';
import type { Provider, ProviderServer } from '../provider-db/schema.js';

/** TTL suggested for every record: an hour, so a mistake is gone soon and the load is low. */
export const PUBLISH_TTL_S = 3600;

/**
 * The RFC 6186 / RFC 8314 §5.1 service labels: the `s` labels are implicit TLS, the others start in
 * cleartext and must upgrade with STARTTLS (so a plaintext-only server has no label at all).
 */
const SRV_LABELS: readonly { label: string; protocol: Protocol; security: Security; name: string }[] = [
  { label: '_imaps._tcp', protocol: 'imap', security: 'tls', name: 'IMAP over implicit TLS' },
  { label: '_imap._tcp', protocol: 'imap', security: 'starttls', name: 'IMAP with STARTTLS' },
  { label: '_pop3s._tcp', protocol: 'pop3', security: 'tls', name: 'POP3 over implicit TLS' },
  { label: '_pop3._tcp', protocol: 'pop3', security: 'starttls', name: 'POP3 with STARTTLS' },
  { label: '_submissions._tcp', protocol: 'smtp', security: 'tls', name: 'submission over implicit TLS' },
  { label: '_submission._tcp', protocol: 'smtp', security: 'starttls', name: 'submission with STARTTLS' },
];

/** What the records describe: the served domain, its provider, and the PACC TXT value when a PACC document is served. */
export interface PublishSubject {
  domain: string;
  provider: Provider;
  paccTxt: string | undefined;
}

/**
 * RFC 6186 SRV records for the provider's encrypted servers. The priority orders each protocol's
 * servers across its two labels as answers rank them (implicit TLS before STARTTLS, then the file's
 * order), as RFC 8314 §5.1 asks clients to compare them; a label without a server gets the "not
 * offered" record (target `.`, RFC 6186 §4) so clients do not guess.
 */
function mailSrvRecords(domain: string, provider: Provider): PublishedRecord[] {
  const servers: ProviderServer[] = [...provider.incoming, ...provider.outgoing];
  const records: PublishedRecord[] = [];
  for (const service of SRV_LABELS) {
    const family = byProtocolAndSecurity(servers.filter((server) => server.protocol === service.protocol && server.security !== 'none'));
    const name = `${service.label}.${domain}`;
    const mine = family.filter((server) => server.security === service.security);
    if (mine.length === 0) {
      records.push({ type: 'SRV', name, ttl: PUBLISH_TTL_S, priority: 0, weight: 0, port: 0, target: '.', purpose: `RFC 6186: ${service.name} is not offered` });
      continue;
    }
    for (const server of mine) {
      const priority = family.indexOf(server) * 10;
      records.push({ type: 'SRV', name, ttl: PUBLISH_TTL_S, priority, weight: 1, port: server.port, target: server.host, purpose: `RFC 6186: ${service.name}` });
    }
  }
  return records;
}

/** One record as a master-file line (RFC 1035 §5.1): absolute names end in a dot. */
export function zoneLine(record: PublishedRecord): string {
  const owner = `${record.name}.`;
  if (record.type === 'CNAME') return `${owner} ${record.ttl} IN CNAME ${record.target}.`;
  if (record.type === 'SRV') {
    const target = record.target === '.' ? '.' : `${record.target}.`;
    return `${owner} ${record.ttl} IN SRV ${record.priority} ${record.weight} ${record.port} ${target}`;
  }
  return `${owner} ${record.ttl} IN TXT "${record.text.replace(/["\\]/g, (char) => `\\${char}`)}"`;
}

/**
 * The DNS records that point mail clients at this service (reachable as `target`) for one served
 * domain: autoconfig, Autodiscover and PACC host names as CNAMEs, the Autodiscover SRV record, the
 * PACC digest, and the RFC 6186 SRV records of the mail servers themselves. Pure.
 */
export function publishRecords(subject: PublishSubject, target: string): PublishResult {
  const { domain, provider, paccTxt } = subject;
  const cname = (label: string, purpose: string): PublishedRecord[] =>
    `${label}.${domain}` === target ? [] : [{ type: 'CNAME', name: `${label}.${domain}`, ttl: PUBLISH_TTL_S, target, purpose }];
  const records: PublishedRecord[] = [
    ...cname('autoconfig', 'Mozilla autoconfig (Thunderbird and others): https://autoconfig.<domain>/mail/config-v1.1.xml'),
    ...cname('autodiscover', 'Microsoft Autodiscover (Outlook): https://autodiscover.<domain>/autodiscover/autodiscover.xml'),
    { type: 'SRV', name: `_autodiscover._tcp.${domain}`, ttl: PUBLISH_TTL_S, priority: 0, weight: 0, port: 443, target, purpose: 'Autodiscover by SRV, for clients that try it when the host names fail' },
    ...(paccTxt
      ? [
          ...cname('ua-auto-config', 'PACC (draft-ietf-mailmaint-pacc-02): https://ua-auto-config.<domain>/.well-known/user-agent-configuration.json'),
          { type: 'TXT' as const, name: `_ua-auto-config.${domain}`, ttl: PUBLISH_TTL_S, text: paccTxt, purpose: 'PACC: the SHA-256 digest that vouches for the document (change it whenever the provider file changes)' },
        ]
      : []),
    ...mailSrvRecords(domain, provider),
  ];
  const notes = [
    `https://${domain}/.well-known/autoconfig/mail/config-v1.1.xml is on the domain's own website: route that path to this service there (no DNS record can).`,
    ...(paccTxt ? [] : ['No PACC records: PACC describes only implicit TLS on ports 993, 995 and 465, and this provider has no such incoming server.']),
  ];
  return { domain, target, records, zone: `${records.map(zoneLine).join('\n')}\n`, notes };
}
