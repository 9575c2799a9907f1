// <mail-settings-lookup>: the embeddable widget an ISP puts on its help page (one script tag, one element).
import { fetchLookup, type Check, type LookupOutcome, type LookupResult, type Server } from './api.js';
import { copyText, h, replaceChildren, type Child } from './dom.js';
import { fill, pickText, stringsFor, type Strings } from './i18n.js';
import { WIDGET_CSS } from './widget-styles.js';

/** Where this script was loaded from: the default API base (captured while the script runs). */
const SCRIPT_BASE = (() => {
  const script = document.currentScript as HTMLScriptElement | null;
  try {
    return script?.src ? new URL('./', script.src).toString() : location.origin;
  } catch {
    return location.origin;
  }
})();

type View = { kind: 'idle' } | { kind: 'loading'; query: string } | LookupOutcome;

type CheckState = { kind: 'pending' } | { kind: 'unavailable' } | { kind: 'done'; check: Check };

let sheet: CSSStyleSheet | null = null;
let uidCounter = 0;

/** iPhone, iPad (iPadOS presents itself as a Mac) and Mac: the devices a configuration profile installs on. */
const isAppleDevice = (): boolean => /iPhone|iPad|iPod|Macintosh/.test(navigator.userAgent);

const serverKey = (server: Pick<Server, 'protocol' | 'host' | 'port' | 'security'>) =>
  `${server.protocol}:${server.host}:${server.port}:${server.security}`;

/** The widget element. Attributes: api, domain, lang, check. */
export class MailSettingsLookup extends HTMLElement {
  static observedAttributes = ['lang', 'domain'];

  private readonly root: ShadowRoot;
  private readonly uid = `msl${(uidCounter += 1)}`;
  private view: View = { kind: 'idle' };
  private lastQuery = '';
  private controller: AbortController | null = null;
  private checks = new Map<string, CheckState>();
  private checkNodes = new Map<string, HTMLElement[]>();
  private input!: HTMLInputElement;
  private button!: HTMLButtonElement;
  private status!: HTMLElement;
  private results!: HTMLElement;
  private announcer!: HTMLElement;
  private built = false;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
    // A constructed stylesheet works under a strict Content-Security-Policy (no inline <style> needed).
    if ('adoptedStyleSheets' in Document.prototype && 'replaceSync' in CSSStyleSheet.prototype) {
      sheet ??= new CSSStyleSheet();
      if (!sheet.cssRules.length) sheet.replaceSync(WIDGET_CSS);
      this.root.adoptedStyleSheets = [sheet];
    } else {
      this.root.appendChild(h('style', {}, WIDGET_CSS));
    }
  }

  connectedCallback(): void {
    this.build();
    const preset = this.presetDomain();
    if (preset && this.view.kind === 'idle') void this.lookup(preset);
  }

  disconnectedCallback(): void {
    this.controller?.abort();
  }

  attributeChangedCallback(name: string, previous: string | null, next: string | null): void {
    // An element upgraded in place (the script after the markup) gets these calls before connectedCallback
    // has built the frame; connectedCallback reads both attributes itself.
    if (!this.isConnected || !this.built || previous === next) return;
    if (name === 'lang') {
      const typed = this.input.value;
      this.build();
      this.input.value = typed;
      this.render();
    } else if (name === 'domain' && next) {
      this.input.placeholder = fill(this.t.presetPlaceholder, { domain: next });
      void this.lookup(next);
    }
  }

  /** The widget's language: its own `lang` attribute, else the nearest ancestor's. */
  private get language(): string | null | undefined {
    return this.getAttribute('lang') ?? this.closest('[lang]')?.getAttribute('lang');
  }

  private get t(): Strings {
    return stringsFor(this.language);
  }

  private get api(): string {
    return this.getAttribute('api') || SCRIPT_BASE;
  }

  private presetDomain(): string {
    return (this.getAttribute('domain') ?? '').trim();
  }

  /** Builds the static frame: form, status line, result area, copy announcer. */
  private build(): void {
    const t = this.t;
    const preset = this.presetDomain();
    const inputId = `${this.uid}-q`;
    this.input = h('input', {
      id: inputId,
      name: 'email',
      type: 'text',
      inputmode: 'email',
      autocomplete: 'email',
      autocapitalize: 'off',
      spellcheck: 'false',
      required: true,
      placeholder: preset ? fill(t.presetPlaceholder, { domain: preset }) : t.placeholder,
    });
    this.button = h('button', { type: 'submit' }, t.find);
    this.status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite', 'aria-atomic': 'true' });
    // The status line above is the live region (a short summary); the cards are not re-read aloud.
    this.results = h('div', { class: 'results', 'aria-busy': 'false' });
    this.announcer = h('p', { class: 'visually-hidden', 'aria-live': 'assertive' });
    const form = h(
      'form',
      {
        novalidate: true,
        role: 'search',
        onsubmit: (event) => {
          event.preventDefault();
          void this.lookup(this.input.value);
        },
      },
      h('label', { class: 'main', for: inputId }, t.label),
      h('div', { class: 'search' }, this.input, this.button),
    );
    const box = h('div', { class: 'box', part: 'box' }, h('h2', {}, t.title), form, this.status, this.results, this.announcer);
    const keep = this.root.querySelector('style');
    replaceChildren(this.root, keep, box);
    this.built = true;
  }

  /** Runs a lookup for what was typed (or the preset domain) and renders the outcome. */
  private async lookup(raw: string): Promise<void> {
    let query = raw.trim();
    const preset = this.presetDomain();
    if (!query && preset) query = preset;
    // With a preset domain, a bare user name means an address at that domain.
    if (preset && query && !query.includes('@') && !query.includes('.')) query = `${query}@${preset}`;
    if (!query) {
      this.view = { kind: 'invalid', message: '' };
      this.render();
      this.input.focus();
      return;
    }
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    this.lastQuery = query;
    this.view = { kind: 'loading', query };
    this.checks.clear();
    this.render();
    try {
      const outcome = await fetchLookup(this.api, { query }, controller.signal);
      if (controller.signal.aborted) return;
      this.view = outcome;
      if (outcome.kind === 'ok' && this.hasAttribute('check')) {
        for (const server of [...outcome.result.incoming, ...outcome.result.outgoing]) this.checks.set(serverKey(server), { kind: 'pending' });
        void this.runChecks(query, controller);
      }
      this.render();
    } catch {
      // aborted by a newer lookup: that one renders
    }
  }

  /** Asks the API again with check=true and fills in each server's live status in place. */
  private async runChecks(query: string, controller: AbortController): Promise<void> {
    let outcome: LookupOutcome;
    try {
      outcome = await fetchLookup(this.api, { query, check: true }, controller.signal);
    } catch {
      return;
    }
    if (controller.signal.aborted) return;
    const found = outcome.kind === 'ok' ? outcome.result : null;
    for (const key of this.checks.keys()) this.checks.set(key, { kind: 'unavailable' });
    for (const server of found ? [...found.incoming, ...found.outgoing] : []) {
      if (server.check) this.checks.set(serverKey(server), { kind: 'done', check: server.check });
    }
    for (const [key, nodes] of this.checkNodes) {
      for (const node of nodes) this.paintCheck(node, this.checks.get(key));
    }
  }

  /** Renders the current view into the status line and the result area. */
  private render(): void {
    const t = this.t;
    const view = this.view;
    this.checkNodes.clear();
    this.status.className = 'status';
    this.results.setAttribute('aria-busy', String(view.kind === 'loading'));
    this.button.disabled = view.kind === 'loading';
    this.input.removeAttribute('aria-invalid');
    const problem = (text: string, help?: string) => {
      this.status.className = 'status problem';
      replaceChildren(this.status, text, help ? h('span', { class: 'help' }, help) : null);
      replaceChildren(this.results);
    };
    switch (view.kind) {
      case 'idle':
        replaceChildren(this.status);
        replaceChildren(this.results);
        return;
      case 'loading':
        replaceChildren(this.status, fill(t.loading, { query: view.query }));
        return;
      case 'not-found': {
        const domain = this.lastQuery.includes('@') ? this.lastQuery.split('@').pop() ?? this.lastQuery : this.lastQuery;
        problem(fill(t.notFound, { domain }), t.notFoundHelp);
        return;
      }
      case 'invalid':
        this.input.setAttribute('aria-invalid', 'true');
        problem(t.invalid);
        return;
      case 'rate-limited':
        problem(view.retryAfterS ? fill(t.rateLimitedIn, { seconds: view.retryAfterS }) : t.rateLimited);
        return;
      case 'error':
        problem(view.status === 0 ? t.offline : t.error);
        return;
      case 'ok':
        this.renderResult(view.result);
    }
  }

  private renderResult(result: LookupResult): void {
    const t = this.t;
    const imap = result.incoming.filter((server) => server.protocol === 'imap');
    const pop = result.incoming.filter((server) => server.protocol === 'pop3');
    const main = result.recommended === 'imap' ? imap[0] : pop[0];
    const popMain = result.recommended === 'imap' ? pop[0] : undefined;
    const smtp = result.outgoing[0];
    const shown = new Set([main, popMain, smtp].filter(Boolean));
    const others = [...result.incoming, ...result.outgoing].filter((server) => !shown.has(server));
    const name = result.provider?.name ?? result.domain;
    const appPassword = result.provider?.hints.some((hint) => hint.kind === 'app-password') ?? false;
    replaceChildren(this.status, fill(t.found, { name, protocol: result.recommended === 'imap' ? 'IMAP' : 'POP3' }));

    const hints = result.provider?.hints ?? [];
    const docs = (result.provider?.documentation ?? []).filter((url) => /^https:\/\//.test(url));
    // The settings document's own instructions (autoconfig/ISPDB), in the widget's language if it has it.
    const instructions = (result.instructions ?? []).filter((entry) => entry.url === undefined || /^https:\/\//.test(entry.url));
    const enables = instructions.filter((entry) => entry.kind === 'enable');
    const guides = instructions.filter(
      (entry) => entry.kind === 'documentation' && entry.url && !docs.includes(entry.url) && !hints.some((hint) => hint.url === entry.url),
    );
    const chosen = (texts: readonly { lang: string; text: string }[]) => {
      const text = pickText(texts, this.language);
      return text ? h('span', { lang: text.lang === 'und' ? null : text.lang }, text.text) : null;
    };
    const hintBox: Child =
      hints.length || docs.length || enables.length || guides.length
        ? h(
            'div',
            { class: 'hints', part: 'hints' },
            h('h3', {}, t.beforeYouStart),
            h(
              'ul',
              {},
              ...enables.map((entry) =>
                h(
                  'li',
                  { class: 'instruction' },
                  chosen(entry.texts) ?? t.enableFirst,
                  entry.url ? ' ' : null,
                  entry.url ? h('a', { href: entry.url, target: '_blank', rel: 'noopener' }, t.enableLink) : null,
                ),
              ),
              ...hints.map((hint) =>
                h('li', {}, hint.text, hint.url ? ' ' : null, hint.url ? h('a', { href: hint.url, target: '_blank', rel: 'noopener' }, t.documentation) : null),
              ),
              ...docs
                .filter((url) => !hints.some((hint) => hint.url === url))
                .map((url) => h('li', {}, h('a', { href: url, target: '_blank', rel: 'noopener' }, `${t.documentation}: ${new URL(url).hostname}`))),
              ...guides.map((entry) =>
                h(
                  'li',
                  { class: 'instruction' },
                  h('a', { href: entry.url ?? '', target: '_blank', rel: 'noopener' }, chosen(entry.texts) ?? `${t.documentation}: ${new URL(entry.url ?? '').hostname}`),
                ),
              ),
            ),
          )
        : null;

    // A short note only: the desk page shows the whole conflict with both sides' servers.
    const stale = result.warnings.find((warning) => warning.code === 'sources_disagree');
    const staleNote: Child = stale
      ? h('p', { class: 'warn stale', part: 'warning' }, t.staleNote)
      : null;

    const mainCard: Child = main
      ? h(
          'section',
          { class: 'card primary', part: 'card recommended', 'aria-labelledby': `${this.uid}-main` },
          h('h3', { id: `${this.uid}-main` }, `${t.incoming} — ${main.protocol === 'imap' ? 'IMAP' : 'POP3'}`, h('span', { class: 'badge' }, t.recommended)),
          h('p', { class: 'explain' }, main.protocol === 'imap' ? t.whyImap : t.imapOnlyPop),
          this.fields(main, result, appPassword),
        )
      : null;

    const popCard: Child = popMain
      ? h(
          'details',
          { part: 'alternative' },
          h('summary', {}, t.showPop),
          h(
            'div',
            { class: 'inner' },
            h('p', { class: 'explain' }, t.popExplain, ' ', t.popFits),
            this.fields(popMain, result, appPassword),
          ),
        )
      : null;

    const smtpCard: Child = smtp
      ? h(
          'section',
          { class: 'card', part: 'card', 'aria-labelledby': `${this.uid}-smtp` },
          h('h3', { id: `${this.uid}-smtp` }, t.outgoing),
          h('p', { class: 'explain' }, t.smtpExplain),
          this.fields(smtp, result, appPassword),
        )
      : null;

    const otherList: Child = others.length
      ? h(
          'details',
          {},
          h('summary', {}, t.moreOptions),
          h(
            'div',
            { class: 'inner' },
            h(
              'ul',
              { class: 'others' },
              ...others.map((server) =>
                h('li', {}, `${server.protocol.toUpperCase()}: `, h('code', {}, `${server.host}:${server.port}`), ` · ${this.securityText(server)}`),
              ),
            ),
          ),
        )
      : null;

    replaceChildren(
      this.results,
      staleNote,
      hintBox,
      this.autoconfigureBox(result),
      mainCard,
      popCard,
      smtpCard,
      otherList,
    );
  }

  /**
   * "Set up automatically" when this service publishes the domain's settings itself: the profile
   * download on Apple devices (only for an https URL), and a note that Thunderbird and Outlook need
   * only the address and password.
   */
  private autoconfigureBox(result: LookupResult): Child {
    const t = this.t;
    const hint = result.autoconfigure;
    if (!hint) return null;
    const profile = hint.mobileconfigUrl && /^https:\/\//.test(hint.mobileconfigUrl) && isAppleDevice() ? hint.mobileconfigUrl : null;
    return h(
      'section',
      { class: 'card auto', part: 'card autoconfigure', 'aria-labelledby': `${this.uid}-auto` },
      h('h3', { id: `${this.uid}-auto` }, t.autoTitle),
      profile ? h('p', {}, h('a', { class: 'button', href: profile }, t.autoApple)) : null,
      profile ? h('p', { class: 'explain' }, t.autoAppleNote) : null,
      h('p', { class: 'explain' }, t.autoClients),
      h('p', { class: 'explain' }, t.autoManual),
    );
  }

  private securityText(server: Server): string {
    const t = this.t;
    return server.security === 'tls' ? t.tls : server.security === 'starttls' ? t.starttls : t.none;
  }

  /** The copyable host/port/security/username rows of one server, plus warnings and check status. */
  private fields(server: Server, result: LookupResult, appPassword: boolean): HTMLElement {
    const t = this.t;
    const prefix = `${this.uid}-${server.protocol}-${server.port}`;
    const username = this.usernameText(server.username, result.domain);
    const rows = [
      this.copyRow(`${prefix}-host`, t.server, server.host),
      this.copyRow(`${prefix}-port`, t.port, String(server.port)),
      this.copyRow(`${prefix}-security`, t.security, this.securityText(server)),
      username.copyable ? this.copyRow(`${prefix}-user`, t.username, username.text) : this.textRow(t.username, username.text),
      // A server whose only login is OAuth2 has no password to type: the app opens the provider's sign-in page.
      server.authentication.length > 0 && server.authentication.every((method) => method === 'oauth2')
        ? this.textRow(t.signIn, fill(t.signInWith, { name: result.provider?.name.replace(/\s*\(.*\)$/, '') ?? server.oauth2?.issuer ?? result.domain }))
        : this.textRow(t.password, appPassword ? t.passwordApp : t.passwordNormal),
    ];
    const checkNode = this.checks.size ? h('p', { class: 'check', 'data-check': serverKey(server) }) : null;
    if (checkNode) {
      const key = serverKey(server);
      this.checkNodes.set(key, [...(this.checkNodes.get(key) ?? []), checkNode]);
      this.paintCheck(checkNode, this.checks.get(key));
    }
    return h(
      'div',
      {},
      h('dl', { class: 'fields' }, ...rows),
      server.security === 'none' ? h('p', { class: 'warn' }, t.noneWarning) : null,
      server.trusted ? null : h('p', { class: 'warn' }, t.untrusted),
      checkNode,
    );
  }

  private usernameText(template: string, domain: string): { text: string; copyable: boolean } {
    if (template === '%EMAILADDRESS%') return { text: this.t.userFull, copyable: false };
    if (template === '%EMAILLOCALPART%') return { text: this.t.userLocal, copyable: false };
    const text = template.replace(/%EMAILDOMAIN%/g, domain);
    return { text, copyable: !text.includes('%') };
  }

  private copyRow(id: string, label: string, value: string): HTMLElement {
    const t = this.t;
    const button = h('button', { type: 'button', class: 'copy', 'aria-label': `${t.copy}: ${label}` }, t.copy);
    button.addEventListener('click', () => void this.copy(value, button));
    return h('div', { class: 'field' }, h('dt', {}, label), h('dd', { class: 'value' }, h('code', { class: 'val', id }, value), button));
  }

  private textRow(label: string, text: string): HTMLElement {
    return h('div', { class: 'field' }, h('dt', {}, label), h('dd', { class: 'value' }, h('span', { class: 'text' }, text)));
  }

  private async copy(value: string, button: HTMLButtonElement): Promise<void> {
    const t = this.t;
    const ok = await copyText(value, this.root);
    button.textContent = ok ? t.copied : t.copy;
    button.classList.toggle('done', ok);
    this.announcer.textContent = ok ? fill(t.copiedValue, { value }) : t.copyFailed;
    setTimeout(() => {
      button.textContent = t.copy;
      button.classList.remove('done');
    }, 2000);
  }

  private paintCheck(node: HTMLElement, state: CheckState | undefined): void {
    const t = this.t;
    if (!state || state.kind === 'unavailable') {
      node.className = 'check pending';
      node.textContent = t.checkUnavailable;
    } else if (state.kind === 'pending') {
      node.className = 'check pending';
      node.textContent = t.checking;
    } else if (state.check.ok) {
      const days = state.check.tls?.certificate?.daysLeft;
      node.className = 'check ok';
      node.textContent = fill(days === undefined ? t.checkOk : t.checkOkCert, { ms: Math.round(state.check.ms.total), days: days ?? 0 });
    } else {
      node.className = 'check fail';
      node.textContent = fill(t.checkFailed, { message: state.check.error?.message ?? state.check.warnings[0] ?? '?' });
    }
  }
}

if (!customElements.get('mail-settings-lookup')) customElements.define('mail-settings-lookup', MailSettingsLookup);
