import { createHook } from 'node:async_hooks';

/** One of Node's own `process.nextTick` queue entries, held for the life of the process (see pinTickObjectShape). */
let pinnedTickObject: object | undefined;

/**
 * Keeps one `process.nextTick` queue entry alive so that V8 keeps its hidden class (map).
 *
 * Why: Node builds every tick entry from one object literal with computed keys. When a full garbage
 * collection runs while no entry is alive, V8 drops that literal's maps and the next entry gets new
 * ones; after a few such collections the literal's feedback turns megamorphic for good, and every
 * `nextTick` in optimized stream code (`onwrite`, `endReadable`, …) becomes a runtime call, about
 * 2 µs per request. The service's start-up (provider files, public suffix list) runs such collections;
 * a bare Fastify process does not. One live entry keeps the maps, so the feedback stays monomorphic.
 * The entry is taken through an async_hooks `init` hook that is enabled for this one call only.
 * Returns the held entry (undefined if this Node names tick entries differently).
 */
export function pinTickObjectShape(): object | undefined {
  if (pinnedTickObject) return pinnedTickObject;
  const hook = createHook({
    init(_asyncId, type, _triggerAsyncId, resource) {
      if (type === 'TickObject' && pinnedTickObject === undefined) pinnedTickObject = resource as object;
    },
  });
  hook.enable();
  process.nextTick(() => {});
  hook.disable();
  return pinnedTickObject;
}
