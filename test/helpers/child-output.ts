import type { ChildProcess } from 'node:child_process';

/** What a child process has printed so far, kept as it arrives. */
export interface ChildOutput {
  stdout(): string;
  stderr(): string;
  /** stdout and stderr interleaved in arrival order. */
  all(): string;
  /**
   * Resolves with the first match of `pattern` in the output (what was printed already counts), as
   * soon as the line arrives: no polling. Rejects when the child exits first, or after `timeoutMs`,
   * a guard that only ever fails the test (the child is then left to the caller to stop).
   */
  waitFor(pattern: RegExp, options?: { timeoutMs?: number; what?: string }): Promise<RegExpExecArray>;
}

/** Starts collecting a child's stdout and stderr (either may be absent: `stdio: 'ignore'`). */
export function collectOutput(child: ChildProcess): ChildOutput {
  let stdout = '';
  let stderr = '';
  let all = '';
  const listeners = new Set<() => void>();
  const arrived = () => {
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    all += chunk.toString();
    arrived();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    all += chunk.toString();
    arrived();
  });
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    all: () => all,
    waitFor(pattern, options = {}) {
      const what = options.what ?? `${pattern}`;
      return new Promise((resolve, reject) => {
        const done = () => {
          listeners.delete(check);
          child.removeListener('exit', onExit);
          clearTimeout(guard);
        };
        const check = () => {
          const match = pattern.exec(all);
          if (!match) return;
          done();
          resolve(match);
        };
        const onExit = () => {
          // Output that arrived with the exit still counts.
          check();
          if (!listeners.has(check)) return;
          done();
          reject(new Error(`the child exited before printing ${what}:\n${all}`));
        };
        const guard = setTimeout(() => {
          done();
          reject(new Error(`no ${what} within ${options.timeoutMs ?? 30_000} ms:\n${all}`));
        }, options.timeoutMs ?? 30_000);
        listeners.add(check);
        child.once('exit', onExit);
        check();
        if (listeners.has(check) && exited()) onExit();
      });
    },
  };
}
