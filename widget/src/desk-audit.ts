// The desk's Audit view (/desk?audit=example.com): a checklist of findings and publication methods,
// the servers' live checks, and every raw answer expandable.
import type { AuditOutcome, AuditResult } from './api.js';
import { h, replaceChildren, type Child } from './dom.js';
import { fill } from './i18n.js';

type Finding = AuditResult['findings'][number];
type Method = AuditResult['methods'][number];
type AuditServer = AuditResult['servers'][number];

/** Every text of the Audit view, in one object so it can move into the desk's language tables as a whole. */
export const AUDIT_STRINGS = {
  button: 'Audit domain',
  needDomain: 'Enter a domain (or an address) to audit.',
  running: 'Auditing {domain}: asking every publication method and checking every server live…',
  status: '{domain}: {errors} problems, {warnings} warnings, {notes} notes ({ms} ms{cached}).',
  fromCache: ', from cache',
  heading: 'Audit of {domain}',
  verdictOk: 'No problems found',
  verdictBad: 'Problems found',
  checkedAt: 'Checked {when}',
  findings: 'Findings ({count})',
  noFindings: 'Nothing to fix: every method agrees and every server passed its live check.',
  fix: 'Fix:',
  methods: 'Publication methods ({count})',
  says: 'Says:',
  saysNothing: 'names no server',
  asked: 'Asked:',
  agreesWith: 'agrees with {names}',
  disagreesWith: 'disagrees with {names}',
  othersDiffer: 'other servers in {names}',
  alone: 'the only method naming an incoming server',
  rawMethod: 'Raw answer',
  servers: 'Servers checked ({count})',
  columns: ['Server', 'Published by', 'Live check', 'Certificate'],
  reachable: 'ok',
  daysLeft: '{days} days left',
  hostMismatch: 'not valid for this host',
  rawAudit: 'Raw API answer (JSON)',
  severities: { error: 'Problem', warning: 'Warning', info: 'Note' },
  counts: { error: '{count} problems', warning: '{count} warnings', info: '{count} notes' },
  methodNames: {
    'provider-db': 'Provider database',
    autoconfig: 'Autoconfig (HTTPS)',
    'autoconfig-well-known': 'Autoconfig (well-known)',
    pacc: 'PACC',
    autodiscover: 'Autodiscover',
    ispdb: 'ISPDB',
    srv: 'SRV records',
    mx: 'MX',
    'http-autoconfig': 'Autoconfig (plain HTTP)',
    guess: 'Guessing',
    jmap: 'JMAP',
  } as Record<string, string>,
};

const S = AUDIT_STRINGS;

const methodName = (name: string) => S.methodNames[name] ?? name;
const badge = (text: string, kind: string) => h('span', { class: `pill ${kind}` }, text);
const MARKS = { ok: '✓', bad: '✗', warn: '!', info: 'i', none: '–' } as const;
const mark = (kind: keyof typeof MARKS) => h('span', { class: `mark ${kind}`, 'aria-hidden': 'true' }, MARKS[kind]);
const serverText = (server: { protocol: string; host: string; port: number; security: string }) =>
  `${server.protocol.toUpperCase()} ${server.host}:${server.port} (${server.security === 'tls' ? 'TLS' : server.security === 'starttls' ? 'STARTTLS' : 'no TLS'})`;

/** The status line while an audit runs. */
export function auditRunningText(domain: string): string {
  return fill(S.running, { domain });
}

/** The domain an input names: the part after the @ of an address, else the input. */
export function auditDomain(query: string): string {
  const text = query.trim();
  return text.includes('@') ? text.slice(text.lastIndexOf('@') + 1) : text;
}

/** Shows an audit in the desk's status line and output area (failures are the desk's own status line). */
export function renderAudit(status: HTMLElement, out: HTMLElement, outcome: Extract<AuditOutcome, { kind: 'ok' }>): void {
  const { audit } = outcome;
  // The request worked: the status line is plain; the verdict below says whether the domain has problems.
  status.className = 'status';
  replaceChildren(
    status,
    fill(S.status, { domain: audit.domain, ...audit.summary, ms: outcome.ms, cached: audit.cached ? S.fromCache : '' }),
  );
  replaceChildren(
    out,
    verdictBlock(audit),
    findingsBlock(audit.findings),
    methodsBlock(audit.methods),
    serversBlock(audit.servers),
    h('section', { class: 'block' }, h('details', { class: 'raw' }, h('summary', {}, S.rawAudit), h('pre', {}, JSON.stringify(audit, null, 2)))),
  );
}

function verdictBlock(audit: AuditResult): HTMLElement {
  const count = (severity: keyof typeof S.counts, value: number) => badge(fill(S.counts[severity], { count: value }), severity === 'error' ? 'bad' : severity === 'warning' ? 'warn' : 'neutral');
  return h(
    'section',
    { class: `block verdict ${audit.ok ? 'passed' : 'failed'}`, 'aria-labelledby': 'h-audit' },
    h('h2', { id: 'h-audit' }, fill(S.heading, { domain: audit.domain })),
    h(
      'p',
      { class: 'verdict-line' },
      mark(audit.ok ? 'ok' : 'bad'),
      h('strong', {}, audit.ok ? S.verdictOk : S.verdictBad),
      ' ',
      count('error', audit.summary.errors),
      ' ',
      count('warning', audit.summary.warnings),
      ' ',
      count('info', audit.summary.notes),
    ),
    h('p', { class: 'muted' }, fill(S.checkedAt, { when: audit.checkedAt })),
  );
}

function findingsBlock(findings: Finding[]): HTMLElement {
  const kind = { error: 'bad', warning: 'warn', info: 'info' } as const;
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-findings' },
    h('h2', { id: 'h-findings' }, fill(S.findings, { count: findings.length })),
    findings.length === 0
      ? h('p', { class: 'none' }, mark('ok'), S.noFindings)
      : h(
          'ul',
          { class: 'checklist findings' },
          ...findings.map((finding) =>
            h(
              'li',
              { class: `finding ${finding.severity}`, 'data-code': finding.code },
              mark(kind[finding.severity]),
              h(
                'div',
                {},
                h('div', { class: 'item-head' }, badge(S.severities[finding.severity], kind[finding.severity] === 'info' ? 'neutral' : kind[finding.severity]), h('code', {}, finding.code)),
                h('p', { class: 'finding-message' }, finding.message),
                h('p', { class: 'finding-fix' }, h('strong', {}, S.fix), ' ', finding.fix),
              ),
            ),
          ),
        ),
  );
}

/** How a method reads at a glance: ✓ answered and agrees, ✗ failed or disagrees, – nothing published there. */
function methodMark(method: Method): keyof typeof MARKS {
  if (method.outcome === 'error' || method.outcome === 'timeout' || method.outcome === 'blocked') return 'bad';
  if (method.outcome === 'found' || method.outcome === 'partial') return method.agreement === 'disagrees' ? 'bad' : 'ok';
  return 'none';
}

/** Agreement in words: a method of the reference group agrees (and others differ from it), one outside disagrees. */
function agreementText(method: Method): Child {
  if (method.agreement === 'alone') return h('span', { class: 'muted' }, S.alone);
  const names = (list: string[]) => list.map(methodName).join(', ');
  const parts: Child[] = [];
  if (method.agreesWith.length) parts.push(h('span', { class: 'agrees' }, fill(S.agreesWith, { names: names(method.agreesWith) })));
  if (method.disagreesWith.length) {
    parts.push(
      method.agreement === 'disagrees'
        ? h('span', { class: 'disagrees' }, fill(S.disagreesWith, { names: names(method.disagreesWith) }))
        : h('span', { class: 'muted' }, fill(S.othersDiffer, { names: names(method.disagreesWith) })),
    );
  }
  return parts.length ? h('span', { class: 'agreement' }, ...parts.flatMap((part, index) => (index ? ['; ', part] : [part]))) : null;
}

function methodsBlock(methods: Method[]): HTMLElement {
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-methods' },
    h('h2', { id: 'h-methods' }, fill(S.methods, { count: methods.length })),
    h(
      'ul',
      { class: 'checklist methods' },
      ...methods.map((method) =>
        h(
          'li',
          { class: `method ${method.outcome}`, 'data-method': method.name },
          mark(methodMark(method)),
          h(
            'div',
            {},
            h('div', { class: 'item-head' }, h('strong', {}, methodName(method.name)), badge(method.outcome, method.outcome), agreementText(method), h('span', { class: 'ms' }, `${Math.round(method.ms)} ms`)),
            h('p', { class: 'method-says' }, S.says, ' ', method.servers.length ? method.servers.map(serverText).join(', ') : method.detail ?? S.saysNothing),
            method.servers.length && method.detail ? h('p', { class: 'muted' }, method.detail) : null,
            method.url ? h('p', { class: 'muted' }, S.asked, ' ', h('code', {}, method.url)) : null,
            h('details', { class: 'raw' }, h('summary', {}, S.rawMethod), h('pre', {}, JSON.stringify(method, null, 2))),
          ),
        ),
      ),
    ),
  );
}

function certificateText(server: AuditServer): string {
  const certificate = server.check.tls?.certificate;
  if (!certificate) return '—';
  const problems = [fill(S.daysLeft, { days: certificate.daysLeft })];
  if (!certificate.hostnameMatches) problems.push(S.hostMismatch);
  return `${certificate.subject} · ${problems.join(' · ')}`;
}

function serversBlock(servers: AuditServer[]): HTMLElement {
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-audit-servers' },
    h('h2', { id: 'h-audit-servers' }, fill(S.servers, { count: servers.length })),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'audit-servers' },
        h('thead', {}, h('tr', {}, ...S.columns.map((name) => h('th', { scope: 'col' }, name)))),
        h(
          'tbody',
          {},
          ...servers.map((server) =>
            h(
              'tr',
              { 'data-server': server.id },
              h('td', {}, h('code', {}, serverText(server))),
              h('td', {}, server.methods.map(methodName).join(', ')),
              h('td', {}, server.check.ok ? badge(S.reachable, 'ok') : badge(server.check.error?.code ?? 'failed', 'bad'), server.check.error ? h('div', { class: 'muted' }, server.check.error.message) : null),
              h('td', {}, certificateText(server)),
            ),
          ),
        ),
      ),
    ),
  );
}
