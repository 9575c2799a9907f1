/** A lookup table's own entry for a key taken from untrusted text; never an inherited one such as `constructor` or `toString`. */
export function ownValue<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}
