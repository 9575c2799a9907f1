/**
 * Runs tasks at once and settles as soon as the earliest-listed usable result can no longer be
 * beaten by an earlier task ("ranked, not raced" within one source: the MX step's candidate
 * domains, Autodiscover's candidate URLs). Tasks still running then are aborted and left
 * `undefined`; a task that rejects (a bug: tasks return failures as values) gets `onBug(index)`.
 */
export async function firstUsableInOrder<T>(
  tasks: ((signal: AbortSignal) => Promise<T>)[],
  usable: (value: T) => boolean,
  onBug: (index: number) => T,
  signal: AbortSignal,
): Promise<(T | undefined)[]> {
  const inner = new AbortController();
  const combined = AbortSignal.any([signal, inner.signal]);
  const results: (T | undefined)[] = tasks.map(() => undefined);
  await new Promise<void>((resolve) => {
    let settled = 0;
    const check = () => {
      for (const result of results) {
        if (result === undefined) break;
        if (usable(result)) return resolve();
      }
      if (settled === tasks.length) resolve();
    };
    if (tasks.length === 0) resolve();
    tasks.forEach((task, index) => {
      const settle = (result: T) => {
        results[index] = result;
        settled += 1;
        check();
      };
      task(combined).then(settle, () => settle(onBug(index)));
    });
  });
  // A snapshot first: tasks that settle on the abort below must stay `undefined` (they were cut off).
  const snapshot = [...results];
  inner.abort();
  return snapshot;
}
