import { createHash } from 'node:crypto';

/** This service's own name-space UUID for name-based UUIDs (made once at random; never change it). */
const NAMESPACE = Buffer.from('a424b7f2682c4ed583c2bd81b1181ce3', 'hex');

/**
 * A name-based UUID (RFC 9562 §5.5, version 5: SHA-1 over the name-space and the name): the same
 * name always gives the same UUID, so a profile downloaded twice for one address replaces the first
 * on the device instead of adding a second account. Upper-case, as Apple writes them.
 */
export function stableUuid(name: string): string {
  const hash = createHash('sha1').update(NAMESPACE).update(name, 'utf8').digest();
  hash[6] = ((hash[6] ?? 0) & 0x0f) | 0x50;
  hash[8] = ((hash[8] ?? 0) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex').toUpperCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
