// The desk's Audit view (/desk?audit=example.com): a checklist of findings and publication methods,
// the servers' live checks, and every raw answer expandable.
import type { AuditOutcome, AuditResult } from './api.js';
import { dateTimeText, labelOf, listText, t } from './desk-language.js';
import { h, replaceChildren, type Child } from './dom.js';
import { fill, fillParts } from './i18n.js';

type Finding = AuditResult['findings'][number];
type Method = AuditResult['methods'][number];
type AuditServer = AuditResult['servers'][number];

const a = t.audit;

const methodName = (name: string) => labelOf(a.methodNames, name);
const methodList = (names: readonly string[]) => listText(names.map(methodName));
const badge = (text: string, kind: string) => h('span', { class: `pill ${kind}` }, text);
const MARKS = { ok: '✓', bad: '✗', warn: '!', info: 'i', none: '–' } as const;
const mark = (kind: keyof typeof MARKS) => h('span', { class: `mark ${kind}`, 'aria-hidden': 'true' }, MARKS[kind]);
const serverText = (server: { protocol: string; host: string; port: number; security: string }) =>
  `${server.protocol.toUpperCase()} ${server.host}:${server.port} (${server.security === 'tls' ? 'TLS' : server.security === 'starttls' ? 'STARTTLS' : a.noTls})`;
/** The API's English prose (finding messages and fixes, method details, check errors), marked so for screen readers. */
const english = (text: string) => h('span', { lang: 'en' }, text);

/** The status line while an audit runs. */
export function auditRunningText(domain: string): string {
  return fill(a.running, { domain });
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
    fill(audit.cached ? a.statusCached : a.status, { domain: audit.domain, ...audit.summary, ms: outcome.ms }),
  );
  replaceChildren(
    out,
    verdictBlock(audit),
    findingsBlock(audit.findings),
    methodsBlock(audit.methods),
    serversBlock(audit.servers),
    h('section', { class: 'block' }, h('details', { class: 'raw' }, h('summary', {}, t.answer.raw), h('pre', {}, JSON.stringify(audit, null, 2)))),
  );
}

function verdictBlock(audit: AuditResult): HTMLElement {
  const count = (severity: keyof typeof a.counts, value: number) => badge(fill(a.counts[severity], { count: value }), severity === 'error' ? 'bad' : severity === 'warning' ? 'warn' : 'neutral');
  return h(
    'section',
    { class: `block verdict ${audit.ok ? 'passed' : 'failed'}`, 'aria-labelledby': 'h-audit' },
    h('h2', { id: 'h-audit' }, fill(a.heading, { domain: audit.domain })),
    h(
      'p',
      { class: 'verdict-line' },
      mark(audit.ok ? 'ok' : 'bad'),
      h('strong', {}, audit.ok ? a.verdictOk : a.verdictBad),
      ' ',
      count('error', audit.summary.errors),
      ' ',
      count('warning', audit.summary.warnings),
      ' ',
      count('info', audit.summary.notes),
    ),
    h('p', { class: 'muted' }, ...fillParts<Child>(a.checkedAt, { when: h('time', { datetime: audit.checkedAt }, dateTimeText(audit.checkedAt)) })),
  );
}

function findingsBlock(findings: Finding[]): HTMLElement {
  const kind = { error: 'bad', warning: 'warn', info: 'info' } as const;
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-findings' },
    h('h2', { id: 'h-findings' }, fill(a.findings, { count: findings.length })),
    findings.length === 0
      ? h('p', { class: 'none' }, mark('ok'), a.noFindings)
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
                h(
                  'div',
                  { class: 'item-head' },
                  badge(labelOf(a.severities, finding.severity), kind[finding.severity] === 'info' ? 'neutral' : kind[finding.severity]),
                  h('strong', { class: 'finding-title' }, labelOf(a.codes, finding.code)),
                  h('code', {}, finding.code),
                ),
                h('p', { class: 'finding-message', lang: 'en' }, finding.message),
                h('p', { class: 'finding-fix' }, h('strong', {}, a.fix), ' ', english(finding.fix)),
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
  if (method.agreement === 'alone') return h('span', { class: 'muted' }, a.alone);
  const agrees = method.agreesWith.length ? h('span', { class: 'agrees' }, fill(a.agreesWith, { names: methodList(method.agreesWith) })) : null;
  let differs: HTMLElement | null = null;
  if (method.disagreesWith.length) {
    const names = methodList(method.disagreesWith);
    differs =
      method.agreement === 'disagrees'
        ? h('span', { class: 'disagrees' }, fill(a.disagreesWith, { names }))
        : h('span', { class: 'muted' }, fill(a.othersDiffer, { names }));
  }
  if (agrees && differs) return h('span', { class: 'agreement' }, ...fillParts<Child>(a.agreementBoth, { first: agrees, second: differs }));
  return agrees || differs ? h('span', { class: 'agreement' }, agrees ?? differs) : null;
}

/** What a method names: its servers, else its (English) detail, else that it names none. */
function saysText(method: Method): Child {
  if (method.servers.length) return listText(method.servers.map(serverText));
  return method.detail ? english(method.detail) : a.saysNothing;
}

function methodsBlock(methods: Method[]): HTMLElement {
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-methods' },
    h('h2', { id: 'h-methods' }, fill(a.methods, { count: methods.length })),
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
            h(
              'div',
              { class: 'item-head' },
              h('strong', {}, methodName(method.name)),
              badge(labelOf(t.outcome, method.outcome), method.outcome),
              agreementText(method),
              h('span', { class: 'ms' }, `${Math.round(method.ms)} ms`),
            ),
            h('p', { class: 'method-says' }, a.says, ' ', saysText(method)),
            method.servers.length && method.detail ? h('p', { class: 'muted', lang: 'en' }, method.detail) : null,
            method.url ? h('p', { class: 'muted' }, ...fillParts<Child>(t.trace.asked, { url: h('code', {}, method.url) })) : null,
            h('details', { class: 'raw' }, h('summary', {}, a.rawMethod), h('pre', {}, JSON.stringify(method, null, 2))),
          ),
        ),
      ),
    ),
  );
}

function certificateText(server: AuditServer): string {
  const certificate = server.check.tls?.certificate;
  if (!certificate) return '—';
  const problems = [fill(a.daysLeft, { days: certificate.daysLeft })];
  if (!certificate.hostnameMatches) problems.push(a.hostMismatch);
  return `${certificate.subject} · ${problems.join(' · ')}`;
}

function serversBlock(servers: AuditServer[]): HTMLElement {
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-audit-servers' },
    h('h2', { id: 'h-audit-servers' }, fill(a.servers, { count: servers.length })),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'audit-servers' },
        h('thead', {}, h('tr', {}, ...a.columns.map((name) => h('th', { scope: 'col' }, name)))),
        h(
          'tbody',
          {},
          ...servers.map((server) =>
            h(
              'tr',
              { 'data-server': server.id },
              h('td', {}, h('code', {}, serverText(server))),
              h('td', {}, methodList(server.methods)),
              h(
                'td',
                {},
                server.check.ok ? badge(t.servers.checkOk, 'ok') : badge(server.check.error?.code ?? t.servers.checkFailed, 'bad'),
                server.check.error ? h('div', { class: 'muted', lang: 'en' }, server.check.error.message) : null,
              ),
              h('td', {}, certificateText(server)),
            ),
          ),
        ),
      ),
    ),
  );
}
