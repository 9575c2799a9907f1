// The support-desk page at /desk: the whole lookup trace, live checks, and a shareable URL.
import { fetchAudit, fetchLookup, type Alternative, type Check, type LookupOutcome, type LookupResult, type Server, type SourceReport } from './api.js';
import { AUDIT_STRINGS, auditDomain, auditRunningText, renderAudit } from './desk-audit.js';
import { copyText, h, replaceChildren, type Child } from './dom.js';

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
const runAudit = h('button', { type: 'button', id: 'run-audit', class: 'secondary' }, AUDIT_STRINGS.button);
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
  replaceChildren(
    status,
    state.audit ? auditRunningText(state.q) : state.check ? `Looking up ${state.q} and checking every server live…` : `Looking up ${state.q}…`,
  );
  out.setAttribute('aria-busy', 'true');
  let show: () => void;
  try {
    if (state.audit) {
      const audited = await fetchAudit(API_BASE, { domain: state.q, fresh: state.fresh }, mine.signal);
      show = () => renderAudit(status, out, audited);
    } else {
      const outcome: LookupOutcome = await fetchLookup(API_BASE, { query: state.q, check: state.check, fresh: state.fresh }, mine.signal);
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
    const text =
      outcome.kind === 'not-found'
        ? `Not found: ${outcome.message}`
        : outcome.kind === 'rate-limited'
          ? `Rate limited: ${outcome.message}${outcome.retryAfterS ? ` (retry in ${outcome.retryAfterS} s)` : ''}`
          : outcome.kind === 'invalid'
            ? `Invalid input: ${outcome.message}`
            : `Error${outcome.status ? ` ${outcome.status}` : ''}: ${outcome.message || 'the service did not answer'}`;
    replaceChildren(status, text);
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
    `${result.domain}: ${servers.length} servers from ${result.sources.filter((s) => s.outcome === 'found' || s.outcome === 'partial').length} of ${result.sources.length} sources` +
      (checked.length ? `; ${checked.length - failed} of ${checked.length} servers passed the live check` : '') +
      ` (${outcome.ms} ms${result.cached ? ', from cache' : ''}).`,
  );
  replaceChildren(
    out,
    summaryBlock(result, outcome.ms),
    result.warnings.length ? warningsBlock(result.warnings) : null,
    serversBlock(result),
    result.alternatives.length ? alternativesBlock(result.alternatives) : null,
    sourcesBlock(result.sources),
    checked.length ? checksBlock(checked) : null,
    h('section', { class: 'block' }, h('details', { class: 'raw' }, h('summary', {}, 'Raw API answer (JSON)'), h('pre', {}, JSON.stringify(result, null, 2)))),
  );
  void state;
}

function pill(text: string, kind: string): HTMLElement {
  return h('span', { class: `pill ${kind}` }, text);
}

function summaryBlock(result: LookupResult, ms: number): HTMLElement {
  const item = (term: string, value: Child) => [h('div', {}, h('dt', {}, term), h('dd', {}, value))];
  const hints = result.provider?.hints ?? [];
  const docs = result.provider?.documentation ?? [];
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-summary' },
    h('h2', { id: 'h-summary' }, 'Answer'),
    h(
      'dl',
      { class: 'summary' },
      ...item('Domain', result.domain),
      ...item('Address', result.email ?? '(domain only)'),
      ...item('Provider', result.provider ? `${result.provider.name} (${result.provider.id})` : 'not in the provider database'),
      ...item('Recommended', result.recommended.toUpperCase()),
      ...item('Cache', result.cached ? 'served from cache' : 'fresh lookup'),
      ...item('Round trip', `${ms} ms`),
    ),
    h('p', { class: 'why' }, result.why),
    hints.length || docs.length
      ? h(
          'div',
          { class: 'hints' },
          h('strong', {}, 'Provider hints'),
          h(
            'ul',
            {},
            ...hints.map((hint) =>
              h('li', {}, pill(hint.kind, 'warn'), ' ', hint.text, hint.url ? ' ' : null, hint.url ? link(hint.url) : null),
            ),
            ...docs.map((url) => h('li', {}, 'Documentation: ', link(url))),
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
    h('strong', {}, 'Instructions from the settings document'),
    h(
      'ul',
      {},
      ...instructions.map((entry) =>
        h(
          'li',
          { 'data-kind': entry.kind },
          pill(entry.kind, entry.kind === 'enable' ? 'warn' : 'neutral'),
          ' ',
          entry.url ? link(entry.url) : '(no link)',
          ' from ',
          h('code', {}, entry.source),
          entry.texts.length
            ? h('ul', {}, ...entry.texts.map((text) => h('li', { lang: text.lang === 'und' ? null : text.lang }, pill(text.lang, 'neutral'), ' ', text.text)))
            : null,
        ),
      ),
    ),
  );
}

function link(url: string): HTMLElement {
  return /^https?:\/\//.test(url) ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, url) : h('code', {}, url);
}

function securityLabel(server: Pick<Server, 'security'>): string {
  return server.security === 'tls' ? 'TLS' : server.security === 'starttls' ? 'STARTTLS' : 'none';
}

/** The Login cell: the methods, and for OAuth2 the issuer (an OAuth-only server is signed in to, not typed into). */
function loginText(server: Server, result: LookupResult): string {
  const methods = server.authentication.join(', ');
  if (!server.oauth2) return methods;
  if (server.authentication.every((method) => method === 'oauth2')) {
    return `sign in with ${result.provider?.name ?? server.oauth2.issuer} (OAuth2, ${server.oauth2.issuer})`;
  }
  return `${methods} (OAuth2: ${server.oauth2.issuer})`;
}

function serversBlock(result: LookupResult): HTMLElement {
  const row = (server: Server, rank: number) =>
    h(
      'tr',
      { class: server.recommended ? 'rec' : '' },
      h('td', {}, String(rank)),
      h('td', {}, server.protocol.toUpperCase(), server.recommended ? ' ' : null, server.recommended ? pill('recommended', 'rec') : null),
      h('td', {}, h('code', { class: 'nowrap' }, server.host)),
      h('td', {}, String(server.port)),
      h('td', {}, server.security === 'none' ? pill('none', 'bad') : securityLabel(server)),
      h('td', {}, h('code', { class: 'nowrap' }, server.username)),
      h('td', {}, loginText(server, result)),
      h('td', {}, h('code', {}, server.source), server.trusted ? null : ' ', server.trusted ? null : pill('untrusted channel', 'warn')),
      h('td', {}, server.check ? pill(server.check.ok ? 'ok' : server.check.error?.code ?? 'failed', server.check.ok ? 'ok' : 'bad') : '—'),
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
          h('tr', {}, ...['#', 'Protocol', 'Host', 'Port', 'Security', 'Username', 'Login', 'Source', 'Live check'].map((name) => h('th', { scope: 'col' }, name))),
        ),
        h('tbody', {}, ...list.map((server, index) => row(server, index + 1))),
      ),
    );
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-servers' },
    h('h2', { id: 'h-servers' }, 'Servers, best first'),
    table('Incoming', result.incoming),
    table('Outgoing', result.outgoing),
  );
}

/** Warnings above the servers: each with its stable code, the sources concerned and (in the message) both sides' servers. */
function warningsBlock(warnings: LookupResult['warnings']): HTMLElement {
  return h(
    'section',
    { class: 'block warnings', 'aria-labelledby': 'h-warnings' },
    h('h2', { id: 'h-warnings' }, `Warnings (${warnings.length})`),
    h(
      'ul',
      {},
      ...warnings.map((warning) =>
        h('li', { 'data-code': warning.code }, pill(warning.code, 'warn'), ' ', warning.message, ' ', h('span', { class: 'muted' }, `(${warning.sources.join(', ')})`)),
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
    h('h2', { id: 'h-alternatives' }, 'Other access methods'),
    h('p', { class: 'muted' }, 'Published by the domain for apps that speak them; not a replacement for the IMAP/SMTP settings above.'),
    h(
      'ul',
      { class: 'alternatives' },
      ...alternatives.map((alternative) =>
        h(
          'li',
          {},
          h('strong', {}, ALTERNATIVE_NAMES[alternative.kind] ?? alternative.kind),
          ' ',
          h('code', {}, alternative.url),
          ' from ',
          h('code', {}, alternative.source),
          alternative.trusted ? null : ' ',
          alternative.trusted ? null : pill('untrusted channel', 'warn'),
        ),
      ),
    ),
  );
}

function sourcesBlock(sources: SourceReport[]): HTMLElement {
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-sources' },
    h('h2', { id: 'h-sources' }, `Sources consulted (${sources.length})`),
    h(
      'ol',
      { class: 'steps' },
      ...sources.map((source) =>
        h(
          'li',
          { class: source.outcome },
          h('div', { class: 'step-head' }, h('strong', {}, source.name), pill(source.outcome, source.outcome), h('span', { class: 'ms' }, `${Math.round(source.ms)} ms`)),
          source.url ? h('p', { class: 'step-body' }, 'Asked: ', h('code', {}, source.url)) : null,
          source.detail ? h('p', { class: 'step-body' }, source.detail) : null,
          source.error ? h('p', { class: 'step-body' }, 'Error: ', h('span', { class: 'err' }, source.error)) : null,
        ),
      ),
    ),
  );
}

function checksBlock(servers: Server[]): HTMLElement {
  return h(
    'section',
    { class: 'block', 'aria-labelledby': 'h-checks' },
    h('h2', { id: 'h-checks' }, 'Live checks'),
    h('div', { class: 'checks' }, ...servers.map((server) => checkCard(server, server.check as Check))),
  );
}

function checkCard(server: Server, check: Check): HTMLElement {
  const cert = check.tls?.certificate ?? null;
  const item = (term: string, value: Child) => [h('dt', {}, term), h('dd', {}, value)];
  return h(
    'article',
    { class: check.ok ? 'passed' : 'failed', 'data-server': `${server.protocol}:${server.host}:${server.port}` },
    h(
      'h3',
      {},
      `${server.protocol.toUpperCase()} `,
      h('code', {}, `${check.host}:${check.port}`),
      pill(check.ok ? 'reachable' : 'failed', check.ok ? 'ok' : 'bad'),
      check.cached ? pill('cached', 'neutral') : null,
    ),
    check.error ? h('p', { class: 'error' }, `${check.error.code}: ${check.error.message}`) : null,
    h(
      'dl',
      {},
      ...item('Address', check.address ?? '—'),
      ...item('Security', `${securityLabel(check)}${check.starttls ? ' (STARTTLS offered)' : ''}`),
      ...item('Timing', `DNS ${ms(check.ms.dns)} · connect ${ms(check.ms.connect)} · TLS ${ms(check.ms.tls)} · total ${ms(check.ms.total)}`),
      ...(check.greeting ? item('Greeting', h('code', {}, check.greeting)) : []),
      ...(check.tls ? item('TLS', [check.tls.protocol, check.tls.cipher].filter(Boolean).join(' · ') || '—') : []),
      ...(check.tls ? item('Trusted', check.tls.authorized ? 'yes' : `no${check.tls.error ? ` (${check.tls.error})` : ''}`) : []),
      ...(cert
        ? [
            ...item('Certificate', cert.subject),
            ...item('Issuer', cert.issuer),
            ...item('Valid', `${day(cert.validFrom)} → ${day(cert.validTo)} (${cert.daysLeft} days left)`),
            ...item('Names', cert.subjectAltNames.join(', ') || '—'),
            ...item('Host matches', cert.hostnameMatches ? 'yes' : 'NO'),
          ]
        : []),
      ...(check.authMechanisms.length ? item('Login methods', check.authMechanisms.join(', ')) : []),
    ),
    check.warnings.length ? h('ul', { class: 'warnings' }, ...check.warnings.map((warning) => h('li', {}, warning))) : null,
    check.capabilities.length || cert?.chain.length
      ? h(
          'details',
          {},
          h('summary', {}, 'Capabilities and certificate chain'),
          check.capabilities.length ? h('p', {}, h('code', {}, check.capabilities.join(' '))) : null,
          cert?.chain.length
            ? h('ol', {}, ...cert.chain.map((link) => h('li', {}, `${link.subject} — issued by ${link.issuer}, valid to ${day(link.validTo)}`)))
            : null,
          cert?.fingerprint256 ? h('p', {}, 'SHA-256: ', h('code', {}, cert.fingerprint256)) : null,
        )
      : null,
  );
}

/** A certificate date as YYYY-MM-DD when it parses, as given otherwise. */
function day(value: string): string {
  const time = Date.parse(value);
  return Number.isNaN(time) ? value : new Date(time).toISOString().slice(0, 10);
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

function submit(check: boolean, audit = false): void {
  const text = input.value.trim();
  const state = { q: audit ? auditDomain(text) : text, fresh: fresh.checked, check: check && !audit, audit };
  if (!state.q) {
    status.className = 'status problem';
    replaceChildren(status, audit ? AUDIT_STRINGS.needDomain : 'Enter an email address or a domain.');
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
  shareStatus.textContent = ok ? 'Link copied.' : location.href;
});
window.addEventListener('popstate', () => void run(readState()));
void run(readState());
