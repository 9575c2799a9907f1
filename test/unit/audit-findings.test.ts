import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AUDIT_CODES, auditCodeSchema, type AuditCode, type AuditMethod, type AuditMethodServer, type AuditServer } from '../../src/api/audit.js';
import type { Check, Protocol, Security, SourceOutcome } from '../../src/api/schemas.js';
import { auditFindings, compareMethods, serverId } from '../../src/lookup/audit-findings.js';
import { PLAINTEXT_LOGIN_WARNING } from '../../src/probes/check-server.js';
import { passingCheck } from '../helpers/fakes.js';

const DOMAIN = 'audit.test';

function published(protocol: Protocol, host: string, port: number, security: Security): AuditMethodServer {
  const server = { protocol, host, port, security };
  return { id: serverId(server), ...server, username: '%EMAILADDRESS%', authentication: ['password-cleartext'], trusted: true };
}

function method(name: string, outcome: SourceOutcome, servers: AuditMethodServer[] = [], extra: Partial<AuditMethod> = {}): AuditMethod {
  return { name, outcome, ms: 1, servers, alternatives: [], agreement: 'n/a', agreesWith: [], disagreesWith: [], ...extra };
}

/** Every distinct server of the methods, each with a passing check (or the given one) and the methods naming it. */
function serversOf(methods: AuditMethod[], checks: Record<string, Partial<Check>> = {}): AuditServer[] {
  const byId = new Map<string, AuditServer>();
  for (const entry of methods) {
    for (const server of entry.servers) {
      const known = byId.get(server.id);
      if (known) known.methods.push(entry.name);
      else {
        const target = { host: server.host, port: server.port, protocol: server.protocol, security: server.security };
        byId.set(server.id, { ...target, id: server.id, methods: [entry.name], check: passingCheck(target, { address: `addr-of-${server.host}`, ...checks[server.id] }) });
      }
    }
  }
  return [...byId.values()];
}

function audit(methods: AuditMethod[], checks: Record<string, Partial<Check>> = {}, needsAddress: string[] = []) {
  const servers = serversOf(methods, checks);
  compareMethods(methods, servers);
  return { findings: auditFindings({ domain: DOMAIN, methods, servers, needsAddress }), methods, servers };
}

const codes = (findings: { code: AuditCode }[]) => findings.map((entry) => entry.code).sort();
const srvFound = (host = 'imap.audit.test') => method('srv', 'found', [published('imap', host, 993, 'tls')]);

const certificate = (overrides: Partial<NonNullable<NonNullable<Check['tls']>['certificate']>> = {}) => ({
  subject: 'CN=imap.audit.test', issuer: 'CN=CA', validFrom: '2026-01-01T00:00:00.000Z', validTo: '2027-01-01T00:00:00.000Z',
  subjectAltNames: ['DNS:imap.audit.test'], daysLeft: 200, hostnameMatches: true, chain: [], ...overrides,
});
const tls = (cert: ReturnType<typeof certificate>, protocol = 'TLSv1.3'): Check['tls'] => ({ authorized: true, protocol, cipher: 'X', certificate: cert });

describe('audit findings', () => {
  it('every code has a severity, a meaning and a one-sentence fix', () => {
    for (const code of auditCodeSchema.options) {
      const info = AUDIT_CODES[code];
      assert.ok(['error', 'warning', 'info'].includes(info.severity), code);
      assert.match(info.fix, /^[A-Z][^]*\.$/, `${code}: the fix is a sentence`);
      assert.equal(info.fix.split(/\.\s+[A-Z]/).length, 1, `${code}: the fix is one sentence`);
      assert.ok(info.meaning.length > 20, code);
    }
    assert.deepEqual(Object.keys(AUDIT_CODES).sort(), [...auditCodeSchema.options].sort());
  });

  it('a domain whose methods agree and whose servers pass has no finding', () => {
    const { findings, methods } = audit([
      method('autoconfig', 'found', [published('imap', 'imap.audit.test', 993, 'tls'), published('smtp', 'smtp.audit.test', 465, 'tls')]),
      srvFound(),
      method('mx', 'not-found'),
    ]);
    assert.deepEqual(findings, []);
    assert.deepEqual(methods.map((entry) => [entry.name, entry.agreement, entry.agreesWith]), [
      ['autoconfig', 'agrees', ['srv']],
      ['srv', 'agrees', ['autoconfig']],
      ['mx', 'n/a', []],
    ]);
  });

  it('a stale plain-HTTP autoconfig: http_only_autoconfig and sources_disagree, each with its fix', () => {
    const { findings, methods } = audit([
      method('autoconfig', 'error', [], { error: 'connect_failed', url: 'https://autoconfig.audit.test/mail/config-v1.1.xml', detail: 'ECONNREFUSED' }),
      method('ispdb', 'found', [published('imap', 'imap.audit.test', 993, 'tls')]),
      method('srv', 'not-found', [], { detail: 'no SRV records for mail services' }),
      method('http-autoconfig', 'found', [published('imap', 'oldmail.audit.test', 993, 'tls')], { url: 'http://autoconfig.audit.test/mail/config-v1.1.xml' }),
    ]);
    assert.deepEqual(codes(findings), ['http_only_autoconfig', 'sources_disagree', 'srv_missing']);
    const stale = findings.find((entry) => entry.code === 'sources_disagree');
    assert.match(stale?.message ?? '', /ispdb names imap\.audit\.test; but http-autoconfig names oldmail\.audit\.test/);
    assert.deepEqual(stale?.methods, ['ispdb', 'http-autoconfig']);
    assert.equal(stale?.fix, AUDIT_CODES.sources_disagree.fix);
    const httpOnly = findings.find((entry) => entry.code === 'http_only_autoconfig');
    assert.match(httpOnly?.message ?? '', /not served over HTTPS \(https:\/\/autoconfig\.audit\.test\/mail\/config-v1\.1\.xml: error \(ECONNREFUSED\)\)/);
    assert.deepEqual(httpOnly?.servers, ['imap:oldmail.audit.test:993:tls']);
    assert.deepEqual(methods.find((entry) => entry.name === 'http-autoconfig')?.disagreesWith, ['ispdb']);
    // Two methods, one against the other: the better-ranked one is the reference.
    assert.deepEqual(methods.filter((entry) => entry.agreement !== 'n/a').map((entry) => [entry.name, entry.agreement]), [['ispdb', 'agrees'], ['http-autoconfig', 'disagrees']]);
    // The https failure is part of http_only_autoconfig, not a finding of its own.
    assert.ok(!findings.some((entry) => entry.code === 'method_failed'));
  });

  it('two host names of one machine (the same checked address) agree; the odd one out disagrees', () => {
    const methodsIn = [
      method('autoconfig', 'found', [published('imap', 'imap.audit.test', 993, 'tls')]),
      method('srv', 'found', [published('imap', 'mail.audit.test', 993, 'tls')]),
      method('mx', 'found', [published('imap', 'imap.hoster.test', 993, 'tls')]),
    ];
    const { findings, methods } = audit(methodsIn, { 'imap:mail.audit.test:993:tls': { address: 'addr-of-imap.audit.test' } });
    assert.deepEqual(methods.map((entry) => entry.agreement), ['agrees', 'agrees', 'disagrees']);
    assert.deepEqual(methods[2]?.disagreesWith, ['autoconfig', 'srv']);
    assert.match(findings.find((entry) => entry.code === 'sources_disagree')?.message ?? '', /autoconfig and srv name imap\.audit\.test, mail\.audit\.test; but mx names imap\.hoster\.test/);
  });

  it('the larger group is the reference, even against the best-ranked method', () => {
    const { methods, findings } = audit([
      method('autoconfig', 'found', [published('imap', 'imap.old.test', 993, 'tls')]),
      method('srv', 'found', [published('imap', 'imap.new.test', 993, 'tls')]),
      method('mx', 'found', [published('imap', 'imap.new.test', 993, 'tls')]),
    ]);
    assert.deepEqual(methods.map((entry) => entry.agreement), ['disagrees', 'agrees', 'agrees']);
    assert.match(findings[0]?.message ?? '', /srv and mx name imap\.new\.test; but autoconfig names imap\.old\.test/);
  });

  it('reports bad certificates, missing STARTTLS, plaintext login, old TLS and unreachable servers from the live checks', () => {
    const imap = published('imap', 'imap.audit.test', 993, 'tls');
    const smtp = published('smtp', 'smtp.audit.test', 587, 'starttls');
    const pop = published('pop3', 'pop.audit.test', 995, 'tls');
    const plain = published('imap', 'imap.audit.test', 143, 'starttls');
    const { findings } = audit([method('autoconfig', 'found', [imap, smtp, pop, plain]), srvFound()], {
      [imap.id]: { ok: false, tls: tls(certificate({ hostnameMatches: false, subjectAltNames: ['DNS:other.test'] })), error: { code: 'hostname_mismatch', message: 'the certificate is not valid for imap.audit.test' } },
      [smtp.id]: { ok: false, error: { code: 'starttls_unavailable', message: 'the server declined STARTTLS' } },
      [pop.id]: { ok: true, tls: tls(certificate({ daysLeft: 20, validTo: '2026-12-21T00:00:00.000Z' }), 'TLSv1.1') },
      [plain.id]: { ok: false, warnings: [PLAINTEXT_LOGIN_WARNING], error: { code: 'connect_refused', message: 'refused' } },
    });
    assert.deepEqual(codes(findings), ['certificate_expires_soon', 'certificate_hostname_mismatch', 'plaintext_login_offered', 'server_unreachable', 'starttls_not_offered', 'tls_outdated']);
    assert.deepEqual(findings.map((entry) => entry.severity), ['error', 'error', 'error', 'warning', 'warning', 'warning'], 'errors first');
    const soon = findings.find((entry) => entry.code === 'certificate_expires_soon');
    assert.match(soon?.message ?? '', /POP3 pop\.audit\.test:995 \(tls\): the certificate expires in 20 days .*published by autoconfig/);
    assert.deepEqual(soon?.servers, [pop.id]);
  });

  it('21 days left is not "soon"; an expired certificate is certificate_expired, not expiring', () => {
    const imap = published('imap', 'imap.audit.test', 993, 'tls');
    const fine = audit([method('autoconfig', 'found', [imap]), srvFound()], { [imap.id]: { tls: tls(certificate({ daysLeft: 21 })) } });
    assert.deepEqual(fine.findings, []);
    const expired = audit([method('autoconfig', 'found', [imap]), srvFound()], {
      [imap.id]: { ok: false, tls: tls(certificate({ daysLeft: -3 })), error: { code: 'certificate_expired', message: 'expired 3 days ago' } },
    });
    assert.deepEqual(codes(expired.findings), ['certificate_expired']);
  });

  it('PACC digest problems, a broken autoconfig document and an address-only autoconfig host', () => {
    const mismatch = audit([srvFound(), method('pacc', 'blocked', [], { error: 'pacc_digest_mismatch', url: 'https://ua-auto-config.audit.test/x', detail: 'document not used' })]);
    assert.deepEqual(codes(mismatch.findings), ['pacc_digest_mismatch']);
    const missing = audit([srvFound(), method('pacc', 'blocked', [], { error: 'pacc_digest_missing' })]);
    assert.deepEqual(codes(missing.findings), ['pacc_digest_missing']);
    const broken = audit([srvFound(), method('autoconfig', 'error', [], { error: 'malformed_xml', detail: 'malformed XML at line 3' })]);
    assert.deepEqual(codes(broken.findings), ['method_failed']);
    const badCert = audit([srvFound(), method('autoconfig', 'error', [], { error: 'tls_error', detail: 'CERT_HAS_EXPIRED' })]);
    assert.deepEqual(codes(badCert.findings), ['document_certificate_invalid']);
    const needsAddress = audit([srvFound(), method('autoconfig', 'found', [published('imap', 'imap.audit.test', 993, 'tls')])], {}, ['autoconfig']);
    assert.deepEqual(codes(needsAddress.findings), ['autoconfig_requires_emailaddress']);
  });

  it('no finding for the failures of hosts that serve other things (well-known on the website, PACC transport)', () => {
    const { findings } = audit([
      srvFound(),
      method('autoconfig-well-known', 'error', [], { error: 'malformed_xml' }),
      method('autodiscover', 'error', [], { error: 'http_error' }),
      method('pacc', 'error', [], { error: 'tls_error' }),
      method('ispdb', 'error', [], { error: 'connect_failed' }),
    ]);
    assert.deepEqual(findings, []);
  });

  it('nothing published: no_settings_published names what guessing found; published servers without TLS or on the wrong port', () => {
    const guessed = audit([method('srv', 'not-found'), method('guess', 'found', [published('imap', 'mail.audit.test', 993, 'tls')])]);
    assert.deepEqual(codes(guessed.findings), ['no_settings_published', 'srv_missing']);
    assert.match(guessed.findings[0]?.message ?? '', /Guessing found mail\.audit\.test/);
    const plaintext = published('pop3', 'pop.audit.test', 110, 'none');
    const mixedUp = published('imap', 'imap.audit.test', 993, 'starttls');
    const wrong = audit([srvFound(), method('autoconfig', 'found', [plaintext, mixedUp])], { [plaintext.id]: { starttls: true } });
    assert.deepEqual(codes(wrong.findings), ['plaintext_server_published', 'port_security_mismatch']);
  });

  it('servers that were not checked (limits, ports) are notes; a refused address is never shown', () => {
    const imap = published('imap', 'imap.audit.test', 993, 'tls');
    const hidden = published('imap', 'internal.audit.test', 143, 'starttls');
    const { findings } = audit([srvFound(), method('autoconfig', 'found', [imap, hidden])], {
      [imap.id]: { ok: false, error: { code: 'rate_limited', message: 'too many live checks from this client' } },
      [hidden.id]: { ok: false, address: null, error: { code: 'forbidden_target', message: 'internal.audit.test resolves to an address the service does not connect to' } },
    });
    assert.deepEqual(codes(findings), ['address_not_public', 'check_skipped']);
    assert.equal(findings.find((entry) => entry.code === 'check_skipped')?.severity, 'info');
  });
});
