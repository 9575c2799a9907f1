// Checks a translation table against its English reference: the widget's tables and the desk's.

/** Names a mail app shows as they are: a translation must keep each one its English string has. */
export const TERMS = ['IMAP', 'POP3', 'SMTP', 'SSL/TLS', 'STARTTLS'] as const;

/** The product's name, and names and units every language writes as English does. */
export const TECHNICAL_NAMES = /\b(Mail Settings Lookup|IMAP|POP3|SMTP|SSL\/TLS|STARTTLS|TLS|OAuth2|DNS|JSON|API|SHA-256|ms|s)\b/g;

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
