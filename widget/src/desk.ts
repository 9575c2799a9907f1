// The support-desk page at /desk: the whole lookup trace, live checks, and a shareable URL.
import { fetchAudit, fetchLookup, type Alternative, type Check, type LookupOutcome, type LookupResult, type Server, type SourceReport } from './api.js';
import { auditDomain, auditRunningText, renderAudit } from './desk-audit.js';
import type { DeskStrings } from './desk-i18n.js';
import { LANG_PARAM, language, t } from './desk-language.js';
import { copyText, h, replaceChildren, type Child } from './dom.js';
import { fill, fillParts } from './i18n.js';

/** Page state, mirrored in the query string so a URL reproduces what the agent saw. */
interface DeskState {
  q: string;
  fresh: boolean;
  check: boolean;
  /** The Audit view of the domain `q` (`?audit=<domain>`) instead of a lookup. */
  audit: boolean;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('lookup');
const input = $<HTMLInputElement>('q');
const fresh = $<HTMLInputElement>('fresh');
const go = $<HTMLButtonElement>('go');
const runChecks = $<HTMLButtonElement>('run-checks');
const runAudit = h('button', { type: 'button', id: 'run-audit', class: 'secondary' }, t.audit.button);
runChecks.after(runAudit);
const share = $<HTMLButtonElement>('share');
const shareStatus = $<HTMLElement>('share-status');
const status = $<HTMLElement>('status');
const out = $<HTMLElement>('out');
// The API lives next to this page (the page is served by the service itself).
const API_BASE = new URL('./', location.href).toString();

let controller: AbortController | null = null;

function readState(): DeskState {
  const params = new URLSearchParams(location.search);
  const flag = (name: string) => ['1', 'true'].includes(params.get(name) ?? '');
  const audit = params.get('audit');
  if (audit !== null) return { q: audit, fresh: flag('fresh'), check: false, audit: true };
  return { q: params.get('q') ?? '', fresh: flag('fresh'), check: flag('check'), audit: false };
}

function writeState(state: DeskState): void {
  const params = new URLSearchParams();
  params.set(state.audit ? 'audit' : 'q', state.q);
  // An explicitly chosen language stays in the shareable URL; otherwise each reader gets their own.
  if (LANG_PARAM) params.set('lang', LANG_PARAM);
  if (state.fresh) params.set('fresh', '1');
  if (state.check) params.set('check', '1');
  const url = `${location.pathname}?${params.toString()}`;
  if (url !== `${location.pathname}${location.search}`) history.pushState(null, '', url);
}

async function run(state: DeskState): Promise<void> {
  input.value = state.q;
  fresh.checked = state.fresh;
  if (!state.q.trim()) {
    replaceChildren(out);
    status.className = 'status';
    replaceChildren(status);
    return;
  }
  controller?.abort();
  const mine = new AbortController();
  controller = mine;
  go.disabled = runChecks.disabled = runAudit.disabled = true;
  status.className = 'status';
  replaceChildren(status, state.audit ? auditRunningText(state.q) : fill(state.check ? t.status.lookingUpChecks : t.status.lookingUp, { query: state.q }));
  out.setAttribute('aria-busy', 'true');
  let show: () => void;
  try {
    if (state.audit) {
      const audited = await fetchAudit(API_BASE, { domain: state.q, fresh: state.fresh }, mine.signal);
      show = () => (audited.kind === 'ok' ? renderAudit(status, out, audited) : render(state, audited));
    } else {
      const outcome = await fetchLookup(API_BASE, { query: state.q, check: state.check, fresh: state.fresh }, mine.signal);
      show = () => render(state, outcome);
    }
  } catch {
    return;
  } finally {
    if (controller === mine) {
      go.disabled = runChecks.disabled = runAudit.disabled = false;
      out.setAttribute('aria-busy', 'false');
    }
  }
  share.hidden = false;
  show();
}

function render(state: DeskState, outcome: LookupOutcome): void {
  if (outcome.kind !== 'ok') {
    status.className = 'status problem';
    replaceChildren(status, ...problemText(outcome));
    replaceChildren(
      out,
      outcome.kind === 'not-found' && outcome.alternatives.length ? alternativesBlock(outcome.alternatives) : null,
      outcome.kind === 'not-found' && outcome.sources.length ? sourcesBlock(outcome.sources) : null,
    );
    return;
  }
  const result = outcome.result;
  const servers = [...result.incoming, ...result.outgoing];
  const checked = servers.filter((server) => server.check);
  const failed = checked.filter((server) => !server.check?.ok).length;
  replaceChildren(
    status,
    fill(checked.length ? t.status.answerChecked : t.status.answer, {
      domain: result.domain,
      servers: servers.length,
      found: result.sources.filter((s) => s.outcome === 'found' || s.outcome === 'partial').length,
      total: result.sources.length,
      passed: checked.length - failed,
      checked: checked.length,
      time: result.cached ? fill(t.status.timeCached, { ms: outcome.ms }) : ms(outcome.ms),
    }),
  );
  replaceChildren(
    out,
    summaryBlock(result, outcome.ms),
    result.warnings.length ? warningsBlock(result.warnings) : null,
    serversBlock(result),
    result.alternatives.length ? alternativesBlock(result.alternatives) : null,
    sourcesBlock(result.sources),
    checked.length ? checksBlock(checked) : null,
    h('section', { class: 'block' }, h('details', { class: 'raw' }, h('summary', {}, t.answer.raw), h('pre', {}, JSON.stringify(result, null, 2)))),
  );
  void state;
}

/** The status line of a lookup that found nothing or failed; the API's (English) message is shown as it came, marked lang=en. */
function problemText(outcome: Exclude<LookupOutcome, { kind: 'ok' }>): Child[] {
  const message: Child = outcome.message ? h('span', { lang: 'en' }, outcome.message) : t.status.noAnswer;
  switch (outcome.kind) {
    case 'not-found':
      return fillParts(t.status.notFound, { message });
    case 'rate-limited':
      return outcome.retryAfterS
        ? fillParts(t.status.rateLimitedRetry, { message, seconds: String(outcome.retryAfterS) })
        : fillParts(t.status.rateLimited, { message });
    case 'invalid':
      return fillParts(t.status.invalid, { message });
    default:
      return outcome.status ? fillParts(t.status.errorStatus, { message, status: String(outcome.status) }) : fillParts(t.status.error, { message });
  }
}

function pill(text: string, kind: string): HTMLElement {
  return h('span', { class: `pill ${kind}` }, text);
}

function summaryBlock(result: LookupResult, roundTripMs: number): HTMLElement {
  const pair = (term: string, value: Child) => [h('div', {}, h('dt', {}, term), h('dd', {}, value))];
  const hints = result.provider?.hints ?? [];
  const docs = result.provider?.documentation ?? [];
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-summary' },
    h('h2', { id: 'h-summary' }, t.answer.heading),
    h(
      'dl',
      { class: 'summary' },
      ...pair(t.answer.domain, result.domain),
      ...pair(t.answer.address, result.email ?? t.answer.domainOnly),
      ...pair(t.answer.provider, result.provider ? `${result.provider.name} (${result.provider.id})` : t.answer.notInDatabase),
      ...pair(t.answer.recommended, result.recommended.toUpperCase()),
      ...pair(t.answer.cache, result.cached ? t.answer.fromCache : t.answer.fresh),
      ...pair(t.answer.roundTrip, ms(roundTripMs)),
    ),
    // The API's prose is English whatever the desk's language: marked so for screen readers.
    h('p', { class: 'why', lang: 'en' }, result.why),
    hints.length || docs.length
      ? h(
          'div',
          { class: 'hints' },
          h('strong', {}, t.answer.hints),
          h(
            'ul',
            {},
            ...hints.map((hint) =>
              h('li', {}, pill(hint.kind, 'warn'), ' ', h('span', { lang: 'en' }, hint.text), hint.url ? ' ' : null, hint.url ? link(hint.url) : null),
            ),
            ...docs.map((url) => h('li', {}, ...fillParts<Child>(t.answer.documentation, { url: link(url) }))),
          ),
        )
      : null,
    result.instructions?.length ? instructionsBlock(result.instructions) : null,
  );
}

/** The settings document's <enable> and <documentation> entries, every language with its tag (staff may read any). */
function instructionsBlock(instructions: LookupResult['instructions']): HTMLElement {
  return h(
    'div',
    { class: 'hints instructions' },
    h('strong', {}, t.answer.instructions),
    h(
      'ul',
      {},
      ...instructions.map((entry) =>
        h(
          'li',
          { 'data-kind': entry.kind },
          pill(t.instructionKind[entry.kind] ?? entry.kind, entry.kind === 'enable' ? 'warn' : 'neutral'),
          ' ',
          ...fromParts(entry.url ? link(entry.url) : t.answer.noLink, entry.source),
          entry.texts.length
            ? h('ul', {}, ...entry.texts.map((text) => h('li', { lang: text.lang === 'und' ? null : text.lang }, pill(text.lang, 'neutral'), ' ', text.text)))
            : null,
        ),
      ),
    ),
  );
}

/** "<what> from <source>" in the desk's word order, the source as code. */
function fromParts(what: Child, source: string): Child[] {
  return fillParts<Child>(t.trace.from, { what, source: h('code', {}, source) });
}

function link(url: string): HTMLElement {
  return /^https?:\/\//.test(url) ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, url) : h('code', {}, url);
}

function securityLabel(server: Pick<Server, 'security'>): string {
  return server.security === 'tls' ? 'TLS' : server.security === 'starttls' ? 'STARTTLS' : t.servers.none;
}

/** The Login cell: the methods, and for OAuth2 the issuer (an OAuth-only server is signed in to, not typed into). */
function loginText(server: Server, result: LookupResult): string {
  const methods = server.authentication.join(', ');
  if (!server.oauth2) return methods;
  if (server.authentication.every((method) => method === 'oauth2')) {
    return fill(t.servers.signInWith, { name: result.provider?.name ?? server.oauth2.issuer, issuer: server.oauth2.issuer });
  }
  return fill(t.servers.methodsWithIssuer, { methods, issuer: server.oauth2.issuer });
}

function serversBlock(result: LookupResult): HTMLElement {
  const s = t.servers;
  const row = (server: Server, rank: number) =>
    h(
      'tr',
      { class: server.recommended ? 'rec' : '' },
      h('td', {}, String(rank)),
      h('td', {}, server.protocol.toUpperCase(), server.recommended ? ' ' : null, server.recommended ? pill(t.servers.recommended, 'rec') : null),
      h('td', {}, h('code', { class: 'nowrap' }, server.host)),
      h('td', {}, String(server.port)),
      h('td', {}, server.security === 'none' ? pill(t.servers.none, 'bad') : securityLabel(server)),
      h('td', {}, h('code', { class: 'nowrap' }, server.username)),
      h('td', {}, loginText(server, result)),
      h('td', {}, h('code', {}, server.source), server.trusted ? null : ' ', server.trusted ? null : pill(t.servers.untrusted, 'warn')),
      h('td', {}, server.check ? pill(server.check.ok ? t.servers.checkOk : server.check.error?.code ?? t.servers.checkFailed, server.check.ok ? 'ok' : 'bad') : '—'),
    );
  const table = (caption: string, list: Server[]) =>
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        {},
        h('caption', { class: 'muted' }, caption),
        h(
          'thead',
          {},
          h('tr', {}, ...['#', s.protocol, s.host, s.port, s.security, s.username, s.login, s.source, s.liveCheck].map((name) => h('th', { scope: 'col' }, name))),
        ),
        h('tbody', {}, ...list.map((server, index) => row(server, index + 1))),
      ),
    );
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-servers' },
    h('h2', { id: 'h-servers' }, s.heading),
    table(s.incoming, result.incoming),
    table(s.outgoing, result.outgoing),
  );
}

/** Warnings above the servers: each with its stable code, the sources concerned and (in the message) both sides' servers. */
function warningsBlock(warnings: LookupResult['warnings']): HTMLElement {
  return h(
    'section',
    { class: 'block warnings', 'aria-labelledby': 'h-warnings' },
    h('h2', { id: 'h-warnings' }, fill(t.trace.warnings, { count: warnings.length })),
    h(
      'ul',
      {},
      ...warnings.map((warning) =>
        h('li', { 'data-code': warning.code }, pill(warning.code, 'warn'), ' ', h('span', { lang: 'en' }, warning.message), ' ', h('span', { class: 'muted' }, `(${warning.sources.join(', ')})`)),
      ),
    ),
  );
}

const ALTERNATIVE_NAMES: Record<Alternative['kind'], string> = { jmap: 'JMAP', ews: 'Exchange Web Services', activesync: 'ActiveSync', graph: 'Microsoft Graph' };

/** Access methods other than IMAP/POP3/SMTP: information for staff, never a recommendation. */
function alternativesBlock(alternatives: Alternative[]): HTMLElement {
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-alternatives' },
    h('h2', { id: 'h-alternatives' }, t.trace.alternatives),
    h('p', { class: 'muted' }, t.trace.alternativesNote),
    h(
      'ul',
      { class: 'alternatives' },
      ...alternatives.map((alternative) =>
        h(
          'li',
          {},
          h('strong', {}, ALTERNATIVE_NAMES[alternative.kind] ?? alternative.kind),
          ' ',
          ...fromParts(h('code', {}, alternative.url), alternative.source),
          alternative.trusted ? null : ' ',
          alternative.trusted ? null : pill(t.servers.untrusted, 'warn'),
        ),
      ),
    ),
  );
}

function sourcesBlock(sources: SourceReport[]): HTMLElement {
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-sources' },
    h('h2', { id: 'h-sources' }, fill(t.trace.sources, { count: sources.length })),
    h(
      'ol',
      { class: 'steps' },
      ...sources.map((source) =>
        h(
          'li',
          { class: source.outcome },
          h('div', { class: 'step-head' }, h('strong', {}, source.name), pill(t.outcome[source.outcome] ?? source.outcome, source.outcome), h('span', { class: 'ms' }, ms(source.ms))),
          source.url ? h('p', { class: 'step-body' }, ...fillParts<Child>(t.trace.asked, { url: h('code', {}, source.url) })) : null,
          source.detail ? h('p', { class: 'step-body', lang: 'en' }, source.detail) : null,
          source.error ? h('p', { class: 'step-body' }, ...fillParts<Child>(t.trace.error, { error: h('span', { class: 'err', lang: 'en' }, source.error) })) : null,
        ),
      ),
    ),
  );
}

function checksBlock(servers: Server[]): HTMLElement {
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-checks' },
    h('h2', { id: 'h-checks' }, t.checks.heading),
    h('div', { class: 'checks' }, ...servers.map((server) => checkCard(server, server.check as Check))),
  );
}

/** A term and its value in a check card's list. */
function item(term: string, value: Child): HTMLElement[] {
  return [h('dt', {}, term), h('dd', {}, value)];
}

function checkCard(server: Server, check: Check): HTMLElement {
  const c = t.checks;
  const cert = check.tls?.certificate ?? null;
  const security = securityLabel(check);
  const timing = { dns: ms(check.ms.dns), connect: ms(check.ms.connect), tls: ms(check.ms.tls), total: ms(check.ms.total) };
  return h(
    'article',
    { class: check.ok ? 'passed' : 'failed', 'data-server': `${server.protocol}:${server.host}:${server.port}` },
    h(
      'h3',
      {},
      `${server.protocol.toUpperCase()} `,
      h('code', {}, `${check.host}:${check.port}`),
      pill(check.ok ? c.reachable : c.failed, check.ok ? 'ok' : 'bad'),
      check.cached ? pill(c.cached, 'neutral') : null,
    ),
    check.error ? h('p', { class: 'error', lang: 'en' }, `${check.error.code}: ${check.error.message}`) : null,
    h(
      'dl',
      {},
      ...item(c.address, check.address ?? '—'),
      ...item(c.security, check.starttls ? fill(c.starttlsOffered, { security }) : security),
      ...item(c.timing, fill(c.timingValue, timing)),
      ...(check.greeting ? item(c.greeting, h('code', {}, check.greeting)) : []),
      ...(check.tls ? item('TLS', [check.tls.protocol, check.tls.cipher].filter(Boolean).join(' · ') || '—') : []),
      ...(check.tls ? item(c.trusted, check.tls.authorized ? c.yes : check.tls.error ? fill(c.noBecause, { reason: check.tls.error }) : c.no) : []),
      ...(cert ? certificateItems(cert) : []),
      ...(check.authMechanisms.length ? item(c.loginMethods, check.authMechanisms.join(', ')) : []),
    ),
    check.warnings.length ? h('ul', { class: 'warnings', lang: 'en' }, ...check.warnings.map((warning) => h('li', {}, warning))) : null,
    check.capabilities.length || cert?.chain.length
      ? h(
          'details',
          {},
          h('summary', {}, c.details),
          check.capabilities.length ? h('p', {}, h('code', {}, check.capabilities.join(' '))) : null,
          cert?.chain.length
            ? h('ol', {}, ...cert.chain.map((link) => h('li', {}, fill(c.chainLink, { subject: link.subject, issuer: link.issuer, to: day(link.validTo) }))))
            : null,
          cert?.fingerprint256 ? h('p', {}, 'SHA-256: ', h('code', {}, cert.fingerprint256)) : null,
        )
      : null,
  );
}

/** The certificate rows of a check card. */
function certificateItems(cert: NonNullable<NonNullable<Check['tls']>['certificate']>): HTMLElement[] {
  const c = t.checks;
  return [
    ...item(c.certificate, cert.subject),
    ...item(c.issuer, cert.issuer),
    ...item(c.valid, fill(c.validValue, { from: day(cert.validFrom), to: day(cert.validTo), days: cert.daysLeft })),
    ...item(c.names, cert.subjectAltNames.join(', ') || '—'),
    ...item(c.hostMatches, cert.hostnameMatches ? c.yes : c.hostMismatch),
  ];
}

/** A certificate date as YYYY-MM-DD when it parses, as given otherwise. */
function day(value: string): string {
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toISOString().slice(0, 10);
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

/** Puts the static page (desk.html) into the desk's language: `data-i18n` names a key of the `page` section. */
function translatePage(): void {
  const text = (key: string | undefined) => (key && Object.prototype.hasOwnProperty.call(t.page, key) ? t.page[key as keyof DeskStrings['page']] : null);
  document.documentElement.lang = language;
  document.title = t.page.title;
  for (const element of document.querySelectorAll<HTMLElement>('[data-i18n]')) {
    element.textContent = text(element.dataset.i18n) ?? element.textContent;
  }
  for (const element of document.querySelectorAll<HTMLInputElement>('[data-i18n-placeholder]')) {
    element.placeholder = text(element.dataset.i18nPlaceholder) ?? element.placeholder;
  }
}

function submit(check: boolean, audit = false): void {
  const text = input.value.trim();
  const state = { q: audit ? auditDomain(text) : text, fresh: fresh.checked, check: check && !audit, audit };
  if (!state.q) {
    status.className = 'status problem';
    replaceChildren(status, audit ? t.audit.needDomain : t.page.enterQuery);
    input.focus();
    return;
  }
  writeState(state);
  void run(state);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  submit(false);
});
runChecks.addEventListener('click', () => submit(true));
runAudit.addEventListener('click', () => submit(false, true));
share.addEventListener('click', async () => {
  const ok = await copyText(location.href);
  shareStatus.textContent = ok ? t.page.linkCopied : location.href;
});
window.addEventListener('popstate', () => void run(readState()));
translatePage();
void run(readState());
