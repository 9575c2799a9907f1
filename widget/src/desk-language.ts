// The desk page's language and its strings, chosen once per page load and shared by desk.ts and
// desk-audit.ts (browser only: it reads the page's URL and navigator.languages).
import { DESK_STRINGS, deskLanguage, type DeskStrings } from './desk-i18n.js';

/** The `lang` query parameter as given (kept in shareable URLs when set). */
export const LANG_PARAM = new URLSearchParams(location.search).get('lang');

/** The desk's language: ?lang=, else the browser's preferred languages, else English. */
export const language = deskLanguage(LANG_PARAM, navigator.languages ?? [navigator.language]);

/** The strings of the desk's language. */
export const t: DeskStrings = DESK_STRINGS[language] ?? DESK_STRINGS.en!;

/** A label from a section keyed by API codes, or the code itself when the section has none. */
export function labelOf(section: object, code: string): string {
  // Security: the code comes from an answer; own keys only, so `constructor` never finds Object.prototype's.
  const value: unknown = Object.prototype.hasOwnProperty.call(section, code) ? (section as Record<string, unknown>)[code] : undefined;
  return typeof value === 'string' ? value : code;
}

/** Names joined as the language joins a list ("A, B and C"; 「A、B、C」). */
export function listText(names: readonly string[]): string {
  return new Intl.ListFormat(language, { style: 'long', type: 'conjunction' }).format(names);
}

/** A point in time (ISO 8601) as the language writes a date and time, with its time zone; as given when it does not parse. */
export function dateTimeText(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Date(time).toLocaleString(language, { dateStyle: 'medium', timeStyle: 'long' });
}
