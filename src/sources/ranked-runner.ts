/**
 * The "ranked, not raced" rule, for results listed best rank first (`undefined` = still pending):
 * the best usable result so far is final once no better-ranked task is still pending (and, with no
 * usable result, once nothing is pending). The resolver decides its sources by it, and sources
 * that run sub-steps (the MX step's candidate domains, Autodiscover's candidate URLs) through
 * runRanked below.
 */
export function bestIsFinal<T>(resultsInRankOrder: readonly (T | undefined)[], usable: (value: T) => boolean): boolean {
  for (const result of resultsInRankOrder) {
    if (result === undefined) return false;
    if (usable(result)) return true;
  }
  return true;
}

/**
 * Runs tasks at once and settles as soon as the earliest-listed usable result can no longer be
 * beaten by an earlier task ("ranked, not raced" within one source: the MX step's candidate
 * domains, Autodiscover's candidate URLs). Tasks still running then are aborted and left
 * `undefined`; a task that rejects (a bug: tasks return failures as values) gets `onBug(index)`.
 */
export async function runRanked<T>(
  tasks: ((signal: AbortSignal) => Promise<T>)[],
  usable: (value: T) => boolean,
  onBug: (index: number) => T,
  signal: AbortSignal,
): Promise<(T | undefined)[]> {
  const inner = new AbortController();
  const combined = AbortSignal.any([signal, inner.signal]);
  const results: (T | undefined)[] = tasks.map(() => undefined);
  await new Promise<void>((resolve) => {
    const check = () => {
      if (bestIsFinal(results, usable)) resolve();
    };
    if (tasks.length === 0) resolve();
    tasks.forEach((task, index) => {
      const settle = (result: T) => {
        results[index] = result;
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
