import { z } from 'zod';
import { alternativeSchema, checkSchema, protocolSchema, securitySchema, sourceErrorCodeSchema, sourceOutcomeSchema } from './schemas.js';

/** How bad a finding is: `error` breaks clients or security, `warning` some clients or a risk, `info` a note. */
export const auditSeveritySchema = z.enum(['error', 'warning', 'info']);
export type AuditSeverity = z.infer<typeof auditSeveritySchema>;

/** Stable codes of audit findings (the closed list; AUDIT_CODES gives each its severity and fix). */
export const auditCodeSchema = z.enum([
  'no_settings_published',
  'server_unreachable',
  'address_not_public',
  'certificate_expired',
  'certificate_untrusted',
  'certificate_hostname_mismatch',
  'starttls_not_offered',
  'port_security_mismatch',
  'pacc_digest_mismatch',
  'pacc_digest_missing',
  'document_certificate_invalid',
  'sources_disagree',
  'http_only_autoconfig',
  'autoconfig_requires_emailaddress',
  'method_failed',
  'srv_missing',
  'plaintext_login_offered',
  'plaintext_server_published',
  'certificate_expires_soon',
  'tls_outdated',
  'check_skipped',
]);
export type AuditCode = z.infer<typeof auditCodeSchema>;

/** What one finding code means and how to fix it (one sentence each): the one table of codes. */
export interface AuditCodeInfo {
  severity: AuditSeverity;
  meaning: string;
  fix: string;
}

/** A certificate expiring in fewer days than this is reported (`certificate_expires_soon`). */
export const AUDIT_EXPIRY_WARNING_DAYS = 21;

/** Every finding code with its severity, meaning and one-sentence fix (also the README table). */
export const AUDIT_CODES: Record<AuditCode, AuditCodeInfo> = {
  no_settings_published: {
    severity: 'error',
    meaning: 'No publication method of the domain names an incoming server: clients can only guess.',
    fix: 'Publish an autoconfig document at https://autoconfig.<domain>/mail/config-v1.1.xml and RFC 6186 SRV records naming your IMAP and SMTP servers.',
  },
  server_unreachable: {
    severity: 'error',
    meaning: 'A published server did not accept the connection, did not answer in time or did not speak its protocol.',
    fix: 'Make the server accept connections on this port and speak the protocol, or remove it from every publication.',
  },
  address_not_public: {
    severity: 'error',
    meaning: 'A host the domain names (mail server or publication host) resolves to an address that is not public; the address is not shown.',
    fix: 'Point the host name at a public address: private and loopback addresses cannot be reached by clients outside your network.',
  },
  certificate_expired: {
    severity: 'error',
    meaning: "The server's TLS certificate has expired or is not yet valid.",
    fix: 'Renew the certificate, reload the server, and automate renewal (for example with ACME).',
  },
  certificate_untrusted: {
    severity: 'error',
    meaning: "The server's TLS certificate is not issued by a trusted authority (self-signed, unknown CA or incomplete chain).",
    fix: 'Install a certificate from a public certificate authority together with its full intermediate chain.',
  },
  certificate_hostname_mismatch: {
    severity: 'error',
    meaning: 'The TLS certificate is not valid for the host name clients are told to use.',
    fix: 'Use a certificate whose subjectAltName lists this exact host name, or publish the host name the certificate is for.',
  },
  starttls_not_offered: {
    severity: 'error',
    meaning: 'A server published for STARTTLS (or without TLS) does not offer the STARTTLS upgrade.',
    fix: 'Enable STARTTLS on this port (RFC 2595, RFC 3207) or publish the implicit-TLS port instead.',
  },
  port_security_mismatch: {
    severity: 'error',
    meaning: 'A method publishes STARTTLS or no TLS on 465, 993 or 995, or implicit TLS on 110, 143 or 587; clients connect otherwise, and lookups drop the entry.',
    fix: 'Publish implicit TLS on 465, 993 and 995 and STARTTLS on 587, 143 and 110 (RFC 8314).',
  },
  pacc_digest_mismatch: {
    severity: 'error',
    meaning: "The PACC document's SHA-256 digest matches no digest in the _ua-auto-config TXT record, so clients must not use it.",
    fix: 'Update the _ua-auto-config TXT record to the digest of the document as served, or serve the document the record describes.',
  },
  pacc_digest_missing: {
    severity: 'error',
    meaning: 'A PACC document is served but no usable _ua-auto-config TXT record vouches for it, so clients must not use it.',
    fix: "Publish a _ua-auto-config.<domain> TXT record carrying the document's SHA-256 digest.",
  },
  document_certificate_invalid: {
    severity: 'error',
    meaning: 'An HTTPS host serving settings (autoconfig, well-known, PACC, Autodiscover) failed the certificate check, so clients refuse its document.',
    fix: 'Install a valid certificate for this HTTPS host name, issued by a public certificate authority.',
  },
  sources_disagree: {
    severity: 'warning',
    meaning: 'Publication methods name different incoming servers: clients configure differently depending on the method they use.',
    fix: 'Make every publication name the same servers: update or remove the stale one.',
  },
  http_only_autoconfig: {
    severity: 'warning',
    meaning: 'The autoconfig document is served only over plain HTTP, where anyone on the path can change it.',
    fix: 'Serve the same document over HTTPS at https://autoconfig.<domain>/mail/config-v1.1.xml with a valid certificate.',
  },
  autoconfig_requires_emailaddress: {
    severity: 'warning',
    meaning: 'The autoconfig host answers only when the emailaddress query parameter is given.',
    fix: 'Answer requests without the emailaddress parameter too: it is optional, and several clients do not send it.',
  },
  method_failed: {
    severity: 'warning',
    meaning: 'A publication of the domain answered with an error: a server error, an unreadable document, a refused connection or a time-out.',
    fix: 'Fix or remove the publication at the URL given: a broken one makes clients wait, give up or fall back to worse methods.',
  },
  srv_missing: {
    severity: 'warning',
    meaning: 'The domain publishes no RFC 6186 SRV records for IMAP or POP3, which some clients rely on.',
    fix: 'Publish _imaps._tcp and _submissions._tcp SRV records (and _pop3s._tcp if you offer POP3) pointing at your servers (RFC 6186, RFC 8314).',
  },
  plaintext_login_offered: {
    severity: 'warning',
    meaning: 'The server offers a password login before TLS is established.',
    fix: 'Advertise LOGINDISABLED and no AUTH mechanisms until STARTTLS has completed, or offer the service only with implicit TLS.',
  },
  plaintext_server_published: {
    severity: 'warning',
    meaning: 'A method publishes a server without any TLS: passwords and mail would cross the network unencrypted.',
    fix: 'Remove the unencrypted entry and publish the implicit-TLS or STARTTLS server instead.',
  },
  certificate_expires_soon: {
    severity: 'warning',
    meaning: `The server's TLS certificate expires in fewer than ${AUDIT_EXPIRY_WARNING_DAYS} days.`,
    fix: 'Renew the certificate now and make sure automatic renewal works.',
  },
  tls_outdated: {
    severity: 'warning',
    meaning: 'The server negotiated a TLS version older than 1.2.',
    fix: 'Enable TLS 1.2 and 1.3 on the server and turn off older versions.',
  },
  check_skipped: {
    severity: 'info',
    meaning: 'A server was not checked live: a limit was reached, or its port is not a mail port the service connects to.',
    fix: 'Run the audit again later (with fresh=true) to check the remaining servers.',
  },
};

/** A server as one method publishes it; `id` links it to `servers[]` and to findings. */
export const auditMethodServerSchema = z.object({
  id: z.string().describe('protocol:host:port:security, the key of servers[]'),
  protocol: protocolSchema,
  host: z.string(),
  port: z.number().int(),
  security: securitySchema,
  username: z.string().describe('The template as published (%EMAILADDRESS% …)'),
  authentication: z.array(z.string()),
  trusted: z.boolean().describe('False when it came over plain HTTP'),
});
export type AuditMethodServer = z.infer<typeof auditMethodServerSchema>;

/** How a method's incoming servers compare with the other methods'. */
export const auditAgreementSchema = z.enum(['agrees', 'disagrees', 'alone', 'n/a']);

/** What one publication method (a source) says about the domain. */
export const auditMethodSchema = z.object({
  name: z.string().describe('The source, as in a lookup\'s sources[].name'),
  outcome: sourceOutcomeSchema,
  ms: z.number(),
  url: z.string().optional().describe('The URL fetched or DNS name queried'),
  detail: z.string().optional(),
  error: sourceErrorCodeSchema.optional().describe('Stable error code of a failed or refused method'),
  servers: z.array(auditMethodServerSchema),
  alternatives: z.array(alternativeSchema),
  agreement: auditAgreementSchema.describe(
    'Methods that share an incoming server (by host name or checked address) form groups; the reference group is the largest (ties: the one with the best-ranked method, which a lookup follows). agrees: in the reference group; disagrees: in another; alone: the only method naming incoming servers; n/a: it names none',
  ),
  agreesWith: z.array(z.string()).describe('Methods sharing an incoming server with this one'),
  disagreesWith: z.array(z.string()).describe('Methods naming incoming servers, none of them this one\'s'),
});
export type AuditMethod = z.infer<typeof auditMethodSchema>;

/** One distinct server found by any method, with its live check. */
export const auditServerSchema = z.object({
  id: z.string(),
  protocol: protocolSchema,
  host: z.string(),
  port: z.number().int(),
  security: securitySchema,
  methods: z.array(z.string()).describe('The methods that publish it'),
  check: checkSchema,
});
export type AuditServer = z.infer<typeof auditServerSchema>;

/** One thing found wrong (or worth knowing), with what to do about it. */
export const auditFindingSchema = z.object({
  code: auditCodeSchema,
  severity: auditSeveritySchema,
  message: z.string().describe('What was found, naming hosts, URLs and methods'),
  fix: z.string().describe('The fix, in one sentence (the same for every finding of a code)'),
  methods: z.array(z.string()).describe('Names of the methods concerned'),
  servers: z.array(z.string()).describe('ids of the servers concerned'),
});
export type AuditFinding = z.infer<typeof auditFindingSchema>;

/** The 200 answer of GET /v1/audit. */
export const auditResultSchema = z.object({
  domain: z.string(),
  ok: z.boolean().describe('True when there is no finding of severity error'),
  summary: z.object({ errors: z.number().int(), warnings: z.number().int(), notes: z.number().int() }),
  findings: z.array(auditFindingSchema).describe('Errors first, then warnings, then notes'),
  methods: z.array(auditMethodSchema).describe('Every publication method, best-ranked first, each run to its end'),
  servers: z.array(auditServerSchema).describe('Every distinct server any method names, incoming first, each checked live'),
  checkedAt: z.string().describe('When the audit ran (ISO 8601)'),
  ms: z.number().describe('How long the audit took'),
  cached: z.boolean(),
});
export type AuditResult = z.infer<typeof auditResultSchema>;
