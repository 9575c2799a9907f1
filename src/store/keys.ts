import { createHash } from 'node:crypto';

/** Longest key part kept readable; longer ones are replaced by their SHA-256 (keys stay bounded). */
export const MAX_KEY_PART_CHARS = 200;

/** Characters kept as they are in a key part; everything else is percent-encoded. */
const UNSAFE = /[^a-z0-9._\-|/]/g;

/**
 * A store key `<prefix><kind>:<part>` for an untrusted part (a domain, a client key, a check
 * target). Security: the part is lower-cased, every character outside `[a-z0-9._-|/]` is
 * encoded as `%` and four hex digits of its UTF-16 unit (fixed width, so two parts never encode
 * alike), so no part can contain the `:` separator, spaces, newlines or glob characters
 * or reach another kind's keys; a part longer than MAX_KEY_PART_CHARS after encoding becomes
 * `#<sha256>`, so a key never exceeds prefix + kind + 201 characters.
 */
export function storeKey(prefix: string, kind: string, raw: string): string {
  const escaped = raw.toLowerCase().replace(UNSAFE, (char) => `%${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const part = escaped.length <= MAX_KEY_PART_CHARS ? escaped : `#${createHash('sha256').update(raw.toLowerCase()).digest('hex')}`;
  return `${prefix}${kind}:${part}`;
}
