/** Options of untilAborted. */
export interface UntilAbortedOptions<T> {
  /** What the returned promise rejects with on abort (default: the signal's reason). */
  reason?: () => unknown;
  /** Called with a value that arrives after the abort, to release it (e.g. drain a body). */
  onLate?: (value: T) => void;
}

/**
 * Settles with the promise, or rejects as soon as the signal aborts: for work (a DNS query, an
 * undici request) that does not itself stop on a signal in time. A late value goes to `onLate`.
 */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, options: UntilAbortedOptions<T> = {}): Promise<T> {
  const reason = () => (options.reason ? options.reason() : signal.reason);
  const late = (value: T) => options.onLate?.(value);
  if (signal.aborted) {
    promise.then(late, () => {});
    return Promise.reject(reason());
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      promise.then(late, () => {});
      reject(reason());
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
