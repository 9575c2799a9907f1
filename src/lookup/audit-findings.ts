import {
  AUDIT_CODES,
  AUDIT_EXPIRY_WARNING_DAYS,
  auditCodeSchema,
  type AuditCode,
  type AuditFinding,
  type AuditMethod,
  type AuditMethodServer,
  type AuditServer,
} from '../api/audit.js';
import type { CheckErrorCode, SourceErrorCode } from '../api/schemas.js';
import { portSecurityConflict } from '../formats/port-security.js';
import { PLAINTEXT_LOGIN_WARNING } from '../probes/check-server.js';

/** What the findings are drawn from: every method's answer and every server's live check. */
export interface AuditFacts {
  domain: string;
  /** Best-ranked first, with their agreement already compared (compareMethods). */
  methods: readonly AuditMethod[];
  servers: readonly AuditServer[];
  /** Methods that answered only when asked with `?emailaddress=` (the autoconfig host). */
  needsAddress: readonly string[];
}

/**
 * Methods whose host or record exists only to publish mail settings: any failure there is the
 * domain's doing. (The well-known path, Autodiscover and plain HTTP are asked of hosts that serve
 * other things, often answering every path with a web page: their failures are no finding.)
 */
const DEDICATED_METHODS: ReadonlySet<string> = new Set(['autoconfig', 'srv']);
/**
 * Methods whose document, once served, must be readable. PACC is here but not above: a domain with
 * wildcard DNS sends ua-auto-config.<domain> to its web server, so a transport failure there is no finding.
 */
const DOCUMENT_METHODS: ReadonlySet<string> = new Set(['autoconfig', 'pacc']);
/** Methods that are the domain's own publication (the others are databases, MX hosts or guesses). */
const OWN_METHODS: ReadonlySet<string> = new Set([...DEDICATED_METHODS, 'pacc', 'autoconfig-well-known', 'http-autoconfig', 'autodiscover']);
/** Error codes of a fetch that got no document to read (the others are about a document that was served). */
export const TRANSPORT_ERRORS: ReadonlySet<SourceErrorCode> = new Set<SourceErrorCode>([
  'connect_failed', 'dns_failed', 'no_such_host', 'tls_error', 'http_error', 'blocked', 'invalid_url', 'redirect_refused', 'too_many_redirects', 'timeout', 'aborted',
  'outbound_budget', 'internal_error',
]);
/** Check error codes that mean the server could not be used at all. */
const UNREACHABLE: ReadonlySet<CheckErrorCode> = new Set(['dns_failed', 'connect_refused', 'connect_timeout', 'timeout', 'tls_failed', 'protocol_error']);
const SEVERITY_ORDER = { error: 0, warning: 1, info: 2 } as const;

/** The id of a server: the key of `servers[]` that methods and findings refer to. */
export function serverId(server: Pick<AuditMethodServer, 'protocol' | 'host' | 'port' | 'security'>): string {
  return `${server.protocol}:${server.host}:${server.port}:${server.security}`;
}

const label = (server: Pick<AuditMethodServer, 'protocol' | 'host' | 'port' | 'security'>) =>
  `${server.protocol.toUpperCase()} ${server.host}:${server.port} (${server.security})`;
const hasServers = (method: AuditMethod) => method.outcome === 'found' || method.outcome === 'partial';
const incomingOf = (method: AuditMethod) => (hasServers(method) ? method.servers.filter((server) => server.protocol !== 'smtp') : []);
const hostsOf = (servers: readonly AuditMethodServer[]) => [...new Set(servers.map((server) => server.host))].join(', ');

/** A finding of `code`, with the severity and fix of the one table. */
function finding(code: AuditCode, message: string, methods: readonly string[] = [], servers: readonly string[] = []): AuditFinding {
  const info = AUDIT_CODES[code];
  return { code, severity: info.severity, message, fix: info.fix, methods: [...new Set(methods)], servers: [...new Set(servers)] };
}

/**
 * Fills each method's `agreement`, `agreesWith` and `disagreesWith`. Two methods agree when they
 * name at least one incoming server in common, by host name or by the address its live check
 * connected to (two names of one machine are one server). Methods linked by agreement form groups;
 * the reference group is the largest, ties going to the one with the best-ranked method (the one a
 * lookup's answer follows): its methods `agree`, every other group's `disagree`.
 */
export function compareMethods(methods: AuditMethod[], servers: readonly AuditServer[]): void {
  const addressOf = new Map(servers.map((server) => [server.id, server.check.address]));
  const keys = new Map<AuditMethod, Set<string>>();
  for (const method of methods) {
    const incoming = incomingOf(method);
    if (incoming.length === 0) continue;
    const set = new Set<string>();
    for (const server of incoming) {
      set.add(`host:${server.host}`);
      const address = addressOf.get(server.id);
      if (address) set.add(`address:${address}`);
    }
    keys.set(method, set);
  }
  for (const method of methods) {
    const mine = keys.get(method);
    method.agreesWith = [];
    method.disagreesWith = [];
    method.agreement = 'n/a';
    if (!mine) continue;
    for (const [other, theirs] of keys) {
      if (other === method) continue;
      const shared = [...mine].some((key) => theirs.has(key));
      (shared ? method.agreesWith : method.disagreesWith).push(other.name);
    }
  }
  const groups = agreementGroups(methods);
  groups.forEach((group, index) => {
    for (const method of group) method.agreement = groups.length === 1 && group.length === 1 ? 'alone' : index === 0 ? 'agrees' : 'disagrees';
  });
}

/**
 * The methods naming incoming servers, in groups linked by agreement (connected components), the
 * reference group first: the largest, then the one whose best method ranks best (methods come in
 * rank order).
 */
function agreementGroups(methods: readonly AuditMethod[]): AuditMethod[][] {
  const compared = methods.filter((method) => incomingOf(method).length > 0);
  const groups: AuditMethod[][] = [];
  const placed = new Set<string>();
  for (const start of compared) {
    if (placed.has(start.name)) continue;
    const group: AuditMethod[] = [];
    const queue = [start];
    placed.add(start.name);
    while (queue.length > 0) {
      const next = queue.shift() as AuditMethod;
      group.push(next);
      for (const other of compared) {
        if (!placed.has(other.name) && next.agreesWith.includes(other.name)) {
          placed.add(other.name);
          queue.push(other);
        }
      }
    }
    groups.push(group);
  }
  return groups.map((group, index) => ({ group, index })).sort((a, b) => b.group.length - a.group.length || a.index - b.index).map(({ group }) => group);
}

/** Every finding of an audit, errors first, then warnings, then notes (each group in code order). */
export function auditFindings(facts: AuditFacts): AuditFinding[] {
  const findings = [
    ...publicationFindings(facts),
    ...disagreementFindings(facts.methods),
    ...publishedServerFindings(facts.methods),
    ...facts.servers.flatMap(checkFindings),
  ];
  const order = auditCodeSchema.options;
  return findings.sort(
    (a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] || order.indexOf(a.code) - order.indexOf(b.code),
  );
}

/** Findings about how (and whether) the domain publishes its settings. */
function publicationFindings(facts: AuditFacts): AuditFinding[] {
  const { domain, methods } = facts;
  const byName = new Map(methods.map((method) => [method.name, method]));
  const findings: AuditFinding[] = [];
  const published = methods.filter((method) => method.name !== 'guess' && incomingOf(method).length > 0);
  if (published.length === 0) {
    const guess = byName.get('guess');
    const guessed = guess && incomingOf(guess).length > 0 ? ` Guessing found ${hostsOf(incomingOf(guess))}.` : '';
    findings.push(finding('no_settings_published', `No method publishes an incoming server for ${domain}.${guessed}`, guess ? ['guess'] : []));
  }
  const http = byName.get('http-autoconfig');
  const https = byName.get('autoconfig');
  const overHttps = ['autoconfig', 'autoconfig-well-known'].some((name) => {
    const method = byName.get(name);
    return method !== undefined && hasServers(method);
  });
  const httpOnly = http !== undefined && hasServers(http) && !overHttps;
  if (httpOnly) {
    const why = https ? `${https.url ?? 'the HTTPS autoconfig host'}: ${https.outcome}${https.detail ? ` (${https.detail})` : ''}` : 'no HTTPS autoconfig';
    findings.push(finding('http_only_autoconfig', `${http.url ?? 'The plain-HTTP autoconfig document'} names ${hostsOf(http.servers)}, but it is not served over HTTPS (${why}).`, ['http-autoconfig', 'autoconfig'], http.servers.map((server) => server.id)));
  }
  for (const name of facts.needsAddress) {
    const method = byName.get(name);
    findings.push(finding('autoconfig_requires_emailaddress', `${method?.url ?? name} answers only when the request carries ?emailaddress=; without it: ${method?.detail ?? 'no document'}.`, [name]));
  }
  const srv = byName.get('srv');
  if (srv && !/not offered/.test(srv.detail ?? '') && (srv.outcome === 'not-found' || (srv.outcome === 'found' && incomingOf(srv).length === 0))) {
    findings.push(finding('srv_missing', `No _imaps._tcp, _imap._tcp, _pop3s._tcp or _pop3._tcp SRV record exists for ${domain}.`, ['srv']));
  }
  for (const method of methods) {
    const failure = methodFailure(method, { httpOnly, needsAddress: facts.needsAddress.includes(method.name) });
    if (failure) findings.push(failure);
  }
  return findings;
}

/** The finding of a method that failed in a way that is the domain's doing, if any. */
function methodFailure(method: AuditMethod, folded: { httpOnly: boolean; needsAddress: boolean }): AuditFinding | undefined {
  const where = method.url ?? method.name;
  const what = `${where}: ${method.detail ?? method.error ?? method.outcome}`;
  if (method.outcome === 'blocked') {
    if (method.error === 'pacc_digest_mismatch') return finding('pacc_digest_mismatch', what, [method.name]);
    if (method.error === 'pacc_digest_missing' || method.error === 'pacc_bad_txt') return finding('pacc_digest_missing', what, [method.name]);
    // Security: the refused address is never named (the address policy's rule).
    if (method.error === undefined && OWN_METHODS.has(method.name)) {
      return finding('address_not_public', `${where}: the host resolves to an address that is not public.`, [method.name]);
    }
    return undefined;
  }
  if (method.outcome !== 'error' && method.outcome !== 'timeout') return undefined;
  const documentFailure = method.outcome === 'error' && !TRANSPORT_ERRORS.has(method.error ?? 'internal_error');
  if (!DEDICATED_METHODS.has(method.name) && !(documentFailure && DOCUMENT_METHODS.has(method.name))) return undefined;
  if (method.name === 'autoconfig' && (folded.httpOnly || folded.needsAddress)) return undefined;
  if (method.error === 'tls_error') return finding('document_certificate_invalid', `${where}: the certificate check failed (${method.detail ?? 'tls_error'}).`, [method.name]);
  return finding('method_failed', `${what}.`, [method.name]);
}

/** `sources_disagree`: the methods fall into groups that name no incoming server in common (the reference group first). */
function disagreementFindings(methods: readonly AuditMethod[]): AuditFinding[] {
  const groups = agreementGroups(methods);
  if (groups.length < 2) return [];
  const sides = groups.map((group) => `${group.map((method) => method.name).join(' and ')} name${group.length === 1 ? 's' : ''} ${hostsOf(group.flatMap(incomingOf))}`);
  return [finding('sources_disagree', `The methods name different incoming servers: ${sides.join('; but ')}.`, groups.flat().map((method) => method.name))];
}

/** Findings about servers as published (whatever their live check says): port/security mix-ups and plaintext. */
function publishedServerFindings(methods: readonly AuditMethod[]): AuditFinding[] {
  const byCode = new Map<string, { code: AuditCode; server: AuditMethodServer; methods: string[]; why: string }>();
  for (const method of methods) {
    if (!hasServers(method)) continue;
    for (const server of method.servers) {
      const conflict = portSecurityConflict(server);
      const code: AuditCode | undefined = conflict ? 'port_security_mismatch' : server.security === 'none' ? 'plaintext_server_published' : undefined;
      if (!code) continue;
      const key = `${code}|${server.id}`;
      const entry = byCode.get(key) ?? { code, server, methods: [], why: conflict ?? 'no TLS at all' };
      entry.methods.push(method.name);
      byCode.set(key, entry);
    }
  }
  return [...byCode.values()].map(({ code, server, methods: names, why }) =>
    finding(code, `${names.join(', ')} publish${names.length === 1 ? 'es' : ''} ${label(server)}: ${why}.`, names, [server.id]),
  );
}

/** Findings from one server's live check: reachability, certificate, STARTTLS, plaintext login, TLS version. */
function checkFindings(server: AuditServer): AuditFinding[] {
  const check = server.check;
  const codes = new Map<AuditCode, string>();
  const code = check.error?.code;
  const problem = check.error?.message ?? '';
  if (code === 'certificate_expired') codes.set('certificate_expired', problem);
  else if (code === 'certificate_untrusted') codes.set('certificate_untrusted', problem);
  else if (code === 'hostname_mismatch') codes.set('certificate_hostname_mismatch', problem);
  else if (code === 'starttls_unavailable') codes.set('starttls_not_offered', problem);
  else if (code === 'forbidden_target' && check.address === null && !/port \d+ is not one of/.test(problem)) codes.set('address_not_public', problem);
  else if (code === 'forbidden_target' || code === 'rate_limited' || code === 'busy') codes.set('check_skipped', problem);
  else if (code && UNREACHABLE.has(code)) codes.set('server_unreachable', `${code}: ${problem}`);
  const certificate = check.tls?.certificate;
  if (certificate && !certificate.hostnameMatches && !codes.has('certificate_hostname_mismatch')) {
    codes.set('certificate_hostname_mismatch', `the certificate names ${certificate.subjectAltNames.join(', ') || certificate.subject}, not ${server.host}`);
  }
  if (certificate && certificate.daysLeft >= 0 && certificate.daysLeft < AUDIT_EXPIRY_WARNING_DAYS && !codes.has('certificate_expired')) {
    codes.set('certificate_expires_soon', `the certificate expires in ${certificate.daysLeft} day${certificate.daysLeft === 1 ? '' : 's'} (${certificate.validTo})`);
  }
  if (check.tls?.protocol && /^(SSLv|TLSv1(\.[01])?$)/.test(check.tls.protocol)) codes.set('tls_outdated', `it negotiated ${check.tls.protocol}`);
  if (check.warnings.includes(PLAINTEXT_LOGIN_WARNING)) codes.set('plaintext_login_offered', PLAINTEXT_LOGIN_WARNING);
  if (check.ok && server.security === 'none' && !check.starttls) codes.set('starttls_not_offered', 'the server does not advertise STARTTLS');
  const by = `published by ${server.methods.join(', ')}`;
  return [...codes].map(([found, why]) => finding(found, `${label(server)}: ${why} (${by}).`, server.methods, [server.id]));
}
