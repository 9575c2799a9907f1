// Every visible string of the support desk (/desk), per language: English here, every other language
// in i18n/desk/<code>.ts. The same mechanism as the widget's tables (i18n.ts): one table per language,
// `{name}` placeholders filled by fill()/fillParts(), the table picked by languageOf().
//
// To add a string: add the key to `deskEn` (in the section it belongs to, or a new section; a section
// may hold sections and lists), then the type checker and test/unit/desk-i18n.test.ts name every
// language table that lacks it.
import type { AuditCode } from '../../src/api/audit.js';
import { languageOf } from './i18n.js';
import { deskDe } from './i18n/desk/de.js';
import { deskEs } from './i18n/desk/es.js';
import { deskFr } from './i18n/desk/fr.js';
import { deskIt } from './i18n/desk/it.js';
import { deskJa } from './i18n/desk/ja.js';
import { deskNl } from './i18n/desk/nl.js';
import { deskPl } from './i18n/desk/pl.js';
import { deskPt } from './i18n/desk/pt.js';
import { deskSv } from './i18n/desk/sv.js';

/**
 * English: the reference table every other language must match section for section and key for key.
 * Sections keyed by an API code (`outcome`, `instructionKind`) hold that code's label.
 */
export const deskEn = {
  /** The static page (desk.html: `data-i18n="<key>"` elements) and the form's own messages. */
  page: {
    title: 'Support desk — Mail Settings Lookup',
    subtitle: 'support desk',
    helpPage: 'Help page',
    apiDocs: 'API docs',
    queryLabel: 'Email address or domain',
    queryPlaceholder: 'jane@example.com or example.com',
    lookUp: 'Look up',
    runChecks: 'Run live checks',
    bypassCache: 'Bypass cache',
    copyLink: 'Copy shareable link',
    linkCopied: 'Link copied.',
    needsJavaScript: 'This page needs JavaScript.',
    enterQuery: 'Enter an email address or a domain.',
  },
  /** The status line above the results; `{message}` is the API's own (English) error message. */
  status: {
    lookingUp: 'Looking up {query}…',
    lookingUpChecks: 'Looking up {query} and checking every server live…',
    notFound: 'Not found: {message}',
    rateLimited: 'Rate limited: {message}',
    rateLimitedRetry: 'Rate limited: {message} (retry in {seconds} s)',
    invalid: 'Invalid input: {message}',
    error: 'Error: {message}',
    errorStatus: 'Error {status}: {message}',
    noAnswer: 'the service did not answer',
    answer: '{domain}: {servers} servers from {found} of {total} sources ({time}).',
    answerChecked: '{domain}: {servers} servers from {found} of {total} sources; {passed} of {checked} servers passed the live check ({time}).',
    timeCached: '{ms} ms, from cache',
  },
  /** The summary block at the top of an answer. */
  answer: {
    heading: 'Answer',
    domain: 'Domain',
    address: 'Address',
    domainOnly: '(domain only)',
    provider: 'Provider',
    notInDatabase: 'not in the provider database',
    recommended: 'Recommended',
    cache: 'Cache',
    fromCache: 'served from cache',
    fresh: 'fresh lookup',
    roundTrip: 'Round trip',
    hints: 'Provider hints',
    documentation: 'Documentation: {url}',
    instructions: 'Instructions from the settings document',
    noLink: '(no link)',
    raw: 'Raw API answer (JSON)',
  },
  /** The ranked server tables. */
  servers: {
    heading: 'Servers, best first',
    incoming: 'Incoming',
    outgoing: 'Outgoing',
    protocol: 'Protocol',
    host: 'Host',
    port: 'Port',
    security: 'Security',
    username: 'Username',
    login: 'Login',
    source: 'Source',
    liveCheck: 'Live check',
    recommended: 'recommended',
    none: 'none',
    untrusted: 'untrusted channel',
    signInWith: 'sign in with {name} (OAuth2, {issuer})',
    methodsWithIssuer: '{methods} (OAuth2: {issuer})',
    checkOk: 'ok',
    checkFailed: 'failed',
  },
  /** Warnings, other access methods and the source trace. */
  trace: {
    warnings: 'Warnings ({count})',
    alternatives: 'Other access methods',
    alternativesNote: 'Published by the domain for apps that speak them; not a replacement for the IMAP/SMTP settings above.',
    from: '{what} from {source}',
    sources: 'Sources consulted ({count})',
    asked: 'Asked: {url}',
    error: 'Error: {error}',
  },
  /** A source's outcome, by its API code (the code stays the step's class). */
  outcome: {
    found: 'found',
    partial: 'partial',
    'not-found': 'not-found',
    error: 'error',
    timeout: 'timeout',
    skipped: 'skipped',
    blocked: 'blocked',
  },
  /** An instruction's kind, by its API code. */
  instructionKind: {
    enable: 'enable',
    documentation: 'documentation',
  },
  /** The live-check cards. */
  checks: {
    heading: 'Live checks',
    reachable: 'reachable',
    failed: 'failed',
    cached: 'cached',
    address: 'Address',
    security: 'Security',
    starttlsOffered: '{security} (STARTTLS offered)',
    timing: 'Timing',
    timingValue: 'DNS {dns} · connect {connect} · TLS {tls} · total {total}',
    greeting: 'Greeting',
    trusted: 'Trusted',
    yes: 'yes',
    no: 'no',
    noBecause: 'no ({reason})',
    certificate: 'Certificate',
    issuer: 'Issuer',
    valid: 'Valid',
    validValue: '{from} → {to} ({days} days left)',
    names: 'Names',
    hostMatches: 'Host matches',
    hostMismatch: 'NO',
    loginMethods: 'Login methods',
    details: 'Capabilities and certificate chain',
    chainLink: '{subject} — issued by {issuer}, valid to {to}',
  },
  /**
   * The Audit view (/desk?audit=<domain>). The API's finding messages and fixes stay English (shown
   * with lang=en); finding codes, severities and method names get labels here, keyed by their API code.
   * A method's outcome uses `outcome`, "Asked:" `trace.asked`, the raw JSON `answer.raw`.
   */
  audit: {
    button: 'Audit domain',
    needDomain: 'Enter a domain (or an address) to audit.',
    running: 'Auditing {domain}: asking every publication method and checking every server live…',
    status: '{domain}: {errors} problems, {warnings} warnings, {notes} notes ({ms} ms).',
    statusCached: '{domain}: {errors} problems, {warnings} warnings, {notes} notes ({ms} ms, from cache).',
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
    agreesWith: 'agrees with {names}',
    disagreesWith: 'disagrees with {names}',
    othersDiffer: 'other servers in {names}',
    /** Two of the three above in one line (agrees with some methods, differs from others). */
    agreementBoth: '{first}; {second}',
    alone: 'the only method naming an incoming server',
    rawMethod: 'Raw answer',
    servers: 'Servers checked ({count})',
    columns: ['Server', 'Published by', 'Live check', 'Certificate'],
    noTls: 'no TLS',
    daysLeft: '{days} days left',
    hostMismatch: 'not valid for this host',
    /** A finding's severity, by its API code. */
    severities: { error: 'Problem', warning: 'Warning', info: 'Note' },
    /** The verdict's counts, by severity. */
    counts: { error: '{count} problems', warning: '{count} warnings', info: '{count} notes' },
    /** A finding's title, by its code (the code is shown next to it, as staff search for it). */
    codes: {
      no_settings_published: 'No settings published',
      server_unreachable: 'Server unreachable',
      address_not_public: 'Address not public',
      certificate_expired: 'Certificate expired',
      certificate_untrusted: 'Certificate not trusted',
      certificate_hostname_mismatch: 'Certificate for another host name',
      starttls_not_offered: 'STARTTLS not offered',
      port_security_mismatch: 'Port and security do not match',
      pacc_digest_mismatch: 'PACC digest does not match',
      pacc_digest_missing: 'PACC digest missing',
      document_certificate_invalid: 'Invalid certificate on a settings host',
      sources_disagree: 'Methods disagree',
      http_only_autoconfig: 'Autoconfig over plain HTTP only',
      autoconfig_requires_emailaddress: 'Autoconfig needs the address',
      method_failed: 'Method failed',
      srv_missing: 'No SRV records',
      plaintext_login_offered: 'Password login before TLS',
      plaintext_server_published: 'Server without TLS published',
      certificate_expires_soon: 'Certificate expires soon',
      tls_outdated: 'Outdated TLS version',
      check_skipped: 'Server not checked',
    } satisfies Record<AuditCode, string>,
    /** A publication method's name, by its API name (a lookup's source name). */
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
    },
  },
};

/** A table shaped like `T`: the same sections (at any depth, lists included) and keys, every text a string. */
export type Translated<T> = { readonly [K in keyof T]: T[K] extends string ? string : Translated<T[K]> };

/** The desk's strings: the sections and keys of the English table. */
export type DeskStrings = Translated<typeof deskEn>;

/** The desk's tables: language code to strings (the same ten languages as the widget's STRINGS). */
export const DESK_STRINGS: Readonly<Record<string, DeskStrings>> = {
  en: deskEn,
  de: deskDe,
  fr: deskFr,
  es: deskEs,
  it: deskIt,
  nl: deskNl,
  pt: deskPt,
  pl: deskPl,
  sv: deskSv,
  ja: deskJa,
};

/**
 * The desk's language: the `lang` query parameter when a table speaks it, else the first of the
 * browser's preferred languages (navigator.languages) that one speaks, else English. Regional tags
 * use their base language (`pt-BR` → `pt`).
 */
export function deskLanguage(requested: string | null | undefined, preferred: readonly string[] = []): string {
  for (const tag of [requested, ...preferred]) {
    const code = languageOf(DESK_STRINGS, tag);
    if (code) return code;
  }
  return 'en';
}
