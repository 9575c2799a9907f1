// Every visible string of the widget, per language: English here, every other language in i18n/<code>.ts.
// Add a language by adding one table there and one entry in STRINGS.
import { de } from './i18n/de.js';
import { es } from './i18n/es.js';
import { fr } from './i18n/fr.js';
import { it } from './i18n/it.js';
import { ja } from './i18n/ja.js';
import { nl } from './i18n/nl.js';
import { pl } from './i18n/pl.js';
import { pt } from './i18n/pt.js';
import { sv } from './i18n/sv.js';

/** The strings the widget shows; `{name}` marks a value filled in at run time. */
export interface Strings {
  title: string;
  label: string;
  placeholder: string;
  presetPlaceholder: string;
  find: string;
  loading: string;
  found: string;
  notFound: string;
  notFoundHelp: string;
  invalid: string;
  rateLimited: string;
  rateLimitedIn: string;
  error: string;
  offline: string;
  incoming: string;
  outgoing: string;
  recommended: string;
  alternative: string;
  imapOnlyPop: string;
  whyImap: string;
  popExplain: string;
  popFits: string;
  showPop: string;
  smtpExplain: string;
  server: string;
  port: string;
  security: string;
  username: string;
  password: string;
  passwordNormal: string;
  passwordApp: string;
  signIn: string;
  signInWith: string;
  staleNote: string;
  tls: string;
  starttls: string;
  none: string;
  noneWarning: string;
  untrusted: string;
  copy: string;
  copied: string;
  copiedValue: string;
  copyFailed: string;
  userFull: string;
  userLocal: string;
  beforeYouStart: string;
  documentation: string;
  enableFirst: string;
  enableLink: string;
  moreOptions: string;
  checking: string;
  checkOk: string;
  checkOkCert: string;
  checkFailed: string;
  checkUnavailable: string;
  provider: string;
  autoTitle: string;
  autoApple: string;
  autoAppleNote: string;
  autoClients: string;
  autoManual: string;
}

/** English: the reference table every other language must match key for key. */
export const en: Strings = {
  title: 'Find your email settings',
  label: 'Your email address',
  placeholder: 'name@example.com',
  presetPlaceholder: 'name@{domain}',
  find: 'Find settings',
  loading: 'Looking up settings for {query}…',
  found: 'Settings for {name}: {protocol} recommended.',
  notFound: 'We could not find settings for {domain}.',
  notFoundHelp: 'Check the spelling of the address, or ask your email provider for its IMAP and SMTP server names.',
  invalid: 'Please enter an email address such as name@example.com, or a domain.',
  rateLimited: 'Too many lookups right now. Please wait a moment and try again.',
  rateLimitedIn: 'Too many lookups right now. Please try again in {seconds} seconds.',
  error: 'Something went wrong while looking up the settings. Please try again.',
  offline: 'The settings service cannot be reached. Check your connection and try again.',
  incoming: 'Receiving mail',
  outgoing: 'Sending mail — SMTP',
  recommended: 'recommended',
  alternative: 'alternative',
  imapOnlyPop: 'This provider does not offer IMAP, so use POP3.',
  whyImap:
    'IMAP keeps your mail on the server, so every device stays in sync: read, deleted and filed mail and your folders are the same on your phone, tablet and computer.',
  popExplain:
    'POP3 downloads mail to one device and usually removes it from the server, so your other devices fall out of sync.',
  popFits: 'Choose POP3 only if you read mail on a single device or want an offline archive.',
  showPop: 'Alternative: POP3',
  smtpExplain: 'Your mail app sends email through this server. Sign in with the same username and password.',
  server: 'Server',
  port: 'Port',
  security: 'Security',
  username: 'Username',
  password: 'Password',
  passwordNormal: 'Your email password.',
  passwordApp: 'An app password (see the note above), not your normal password.',
  signIn: 'Sign-in',
  staleNote: 'Note: this domain\'s mail may have moved to another provider. If these settings do not work, ask your provider which ones to use.',
  signInWith: 'No password here: choose "Sign in with {name}" in your mail app, and sign in on {name}\'s own page.',
  tls: 'SSL/TLS',
  starttls: 'STARTTLS',
  none: 'None',
  noneWarning: 'Not encrypted: your password would travel in plain text.',
  untrusted: 'Found over an unencrypted channel; confirm with your provider.',
  copy: 'Copy',
  copied: 'Copied',
  copiedValue: 'Copied {value}',
  copyFailed: 'Copy did not work; select the text and copy it by hand.',
  userFull: 'Your full email address',
  userLocal: 'The part of your address before the @',
  beforeYouStart: 'Before you start',
  documentation: 'Provider help page',
  enableFirst: 'Your provider asks you to turn on access for mail apps before you set up the account.',
  enableLink: 'Open the settings page',
  moreOptions: 'Other settings that also work',
  checking: 'Checking the server…',
  checkOk: 'Server answered in {ms} ms.',
  checkOkCert: 'Server answered in {ms} ms; certificate valid for {days} more days.',
  checkFailed: 'Server check failed: {message}',
  checkUnavailable: 'Live check not available right now.',
  provider: 'Provider',
  autoTitle: 'Set up automatically',
  autoApple: 'Download the profile for this device',
  autoAppleNote: 'Then open Settings (System Settings on a Mac), choose the downloaded profile and install it. Only your password is left to enter.',
  autoClients: 'Thunderbird and Outlook find these settings on their own: enter your email address and password, and they do the rest.',
  autoManual: 'Prefer to set it up by hand? The settings are below.',
};

const primarySubtag = (tag: string) => tag.split('-')[0] ?? '';

/** The translation table: language code to strings. */
export const STRINGS: Record<string, Strings> = { en, de, fr, es, it, nl, pt, pl, sv, ja };

/**
 * The code of the table that speaks a language tag such as `de-AT`, `pt_BR` or `ja-JP` (its primary
 * subtag), or undefined when `tables` has none. Shared by the widget's and the desk's tables.
 */
export function languageOf(tables: Readonly<Record<string, unknown>>, lang: string | null | undefined): string | undefined {
  const base = primarySubtag((lang ?? '').trim().toLowerCase().replaceAll('_', '-'));
  // Own keys only: a tag such as `constructor` must not find Object.prototype's members.
  return base && Object.prototype.hasOwnProperty.call(tables, base) ? base : undefined;
}

/** Picks the table for a language tag by its primary subtag, falling back to English. */
export function stringsFor(lang: string | null | undefined): Strings {
  return STRINGS[languageOf(STRINGS, lang) ?? 'en'] ?? en;
}

const PLACEHOLDER = /\{(\w+)\}/g;

/** Fills `{name}` placeholders. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(PLACEHOLDER, (whole, key: string) => (key in values ? String(values[key]) : whole));
}

/**
 * Fills `{name}` placeholders with values that may be elements (a link, a code span), keeping the
 * translation's word order: the template split into its text and the values, in order.
 */
export function fillParts<T>(template: string, values: Record<string, T>): (string | T)[] {
  const parts: (string | T)[] = [];
  let last = 0;
  for (const match of template.matchAll(PLACEHOLDER)) {
    const key = match[1] ?? '';
    if (!Object.prototype.hasOwnProperty.call(values, key)) continue;
    if (match.index > last) parts.push(template.slice(last, match.index));
    parts.push(values[key] as T);
    last = match.index + match[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  return parts;
}

/**
 * Picks the text for a language tag from a document's per-language texts: the exact tag, then the
 * same primary subtag (`de-AT` finds `de`, `de` finds `de-CH`), then English, then the first.
 */
export function pickText<T extends { lang: string }>(texts: readonly T[], lang: string | null | undefined): T | undefined {
  const wanted = (lang ?? '').trim().toLowerCase().replaceAll('_', '-');
  const byTag = (tag: string) => texts.find((entry) => entry.lang.toLowerCase() === tag);
  const byPrimary = (tag: string) => texts.find((entry) => primarySubtag(entry.lang.toLowerCase()) === primarySubtag(tag));
  return (wanted ? byTag(wanted) ?? byPrimary(wanted) : undefined) ?? byTag('en') ?? byPrimary('en') ?? texts[0];
}
