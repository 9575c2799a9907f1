/** An abort signal that fires after a time limit or when a parent signal fires; dispose() when done. */
export interface Deadline {
  signal: AbortSignal;
  dispose(): void;
}

/**
 * A time limit with a real timer (not `AbortSignal.timeout` inside `AbortSignal.any`, whose
 * timeout signal is only weakly held and can be collected before it fires).
 */
export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const controller = new AbortController();
  const onParentAbort = () => controller.abort(parent?.reason);
  const timer = setTimeout(() => controller.abort(new Error(`time limit of ${ms} ms passed`)), ms);
  if (parent?.aborted) onParentAbort();
  else parent?.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParentAbort);
    },
  };
}
