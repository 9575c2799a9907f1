/** Where a memo keeps what it made: a Map, or a WeakMap when the keys are objects owned elsewhere. */
export interface MemoStore<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): unknown;
}

/**
 * `make`, called once per key; later calls with the key get what it made. Security: a Map store
 * grows with every new key, so give it keys from a closed or configured set (routes, statuses,
 * CORS answers); a WeakMap store lets an entry go with its key.
 */
export function memo<K, V>(make: (key: K) => V, store: MemoStore<K, V> = new Map<K, V>()): (key: K) => V {
  return (key) => {
    let item = store.get(key);
    if (item === undefined) {
      item = make(key);
      store.set(key, item);
    }
    return item;
  };
}
