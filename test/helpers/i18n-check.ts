// Checks a translation table against its English reference: the widget's tables and the desk's.

/**
 * Names mail software shows as they are (protocols, record types, publication methods): a translation
 * must keep each one its English string has.
 */
export const TERMS = ['IMAP', 'POP3', 'SMTP', 'SSL/TLS', 'STARTTLS', 'TLS', 'DNS', 'SRV', 'MX', 'HTTP', 'PACC', 'Autodiscover', 'Autoconfig', 'ISPDB', 'JMAP'] as const;

/** The product's name, and names and units every language writes as English does. */
export const TECHNICAL_NAMES =
  /\b(Mail Settings Lookup|IMAP|POP3|SMTP|SSL\/TLS|STARTTLS|TLS|OAuth2|DNS|JSON|API|SHA-256|SRV|MX|HTTPS|HTTP|PACC|Autodiscover|Autoconfig|ISPDB|JMAP|ms|s)\b/g;

/**
 * Strings a language really writes as English does (a loanword or the same word), by language: a
 * translation equal to its English string is an untranslated leftover unless it is listed here (the
 * desk's tables; the unit test and the browser test both read it).
 */
export const DESK_SAME_AS_ENGLISH: Readonly<Record<string, readonly string[]>> = {
  de: ['answer.domain', 'answer.cache', 'servers.host', 'servers.port', 'audit.columns.0'],
  fr: ['answer.cache', 'servers.port', 'servers.source', 'instructionKind.documentation'],
  es: ['status.error', 'status.errorStatus', 'servers.host', 'trace.error', 'outcome.error', 'checks.no', 'checks.noBecause', 'checks.hostMismatch'],
  it: ['answer.provider', 'answer.cache', 'servers.host', 'checks.no', 'checks.noBecause', 'checks.hostMismatch', 'audit.columns.0'],
  nl: ['answer.provider', 'answer.cache', 'servers.protocol', 'servers.host', 'audit.columns.0'],
  pt: ['answer.cache', 'servers.host'],
  pl: ['servers.host', 'servers.port'],
  sv: ['answer.cache', 'servers.port', 'audit.columns.0'],
  ja: [],
};

/** The `{placeholder}` names of a template, sorted and without repeats. */
export const placeholders = (text: string) => [...new Set([...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]))].sort();

/** A table as `key` → value, a section's keys as `section.key` (the widget's tables are flat, the desk's have sections). */
export function flatten(table: unknown, prefix = ''): Map<string, unknown> {
  const flat = new Map<string, unknown>();
  if (typeof table !== 'object' || table === null) return flat;
  for (const [key, value] of Object.entries(table)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'object' && value !== null) for (const [inner, text] of flatten(value, name)) flat.set(inner, text);
    else flat.set(name, value);
  }
  return flat;
}

/** Everything wrong with one table compared with English, one line each (empty when it is complete). */
export function translationProblems(table: unknown, english: unknown): string[] {
  const problems: string[] = [];
  const reference = flatten(english);
  const got = flatten(table);
  for (const key of reference.keys()) {
    if (!got.has(key)) problems.push(`${key}: missing`);
  }
  for (const [key, value] of got) {
    const source = reference.get(key);
    if (typeof source !== 'string') {
      problems.push(`${key}: not a key of the English table`);
      continue;
    }
    if (typeof value !== 'string' || value.trim() === '') {
      problems.push(`${key}: empty`);
      continue;
    }
    const wanted = placeholders(source);
    const found = placeholders(value);
    if (wanted.join() !== found.join()) problems.push(`${key}: placeholders {${found.join('}, {')}} instead of {${wanted.join('}, {')}}`);
    for (const term of TERMS) {
      if (source.includes(term) && !value.includes(term)) problems.push(`${key}: drops the term ${term}`);
    }
  }
  return problems;
}
