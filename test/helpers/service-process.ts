import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { collectOutput, type ChildOutput } from './child-output.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A service process (src/server.ts) started by a test, and what it printed. */
export interface ServiceProcess {
  child: ChildProcess;
  output: ChildOutput;
  /** Resolves with the exit code once the process has exited (whoever stopped it). */
  exited: Promise<number | null>;
  /** SIGTERM (the production shutdown path), then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** A started service: the base URL it logged it listens on (https:// when it terminates TLS itself). */
export interface RunningService extends ServiceProcess {
  url: string;
}

/**
 * Spawns the service as production runs it (`npm start` without the build step: `node --import tsx
 * src/server.ts`), configured only through its environment: HOST 127.0.0.1, PORT 0 (a free port),
 * no central ISPDB and no load shedding unless `env` says otherwise. (Shedding is off for the
 * reason testConfig gives: on a shared test machine the event loop of a just-started process is
 * slow, and shedding would turn an unrelated test's lookups into 503s at random.)
 */
export function spawnService(env: Record<string, string> = {}): ServiceProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ISPDB_URL: '', SHED_MAX_EVENT_LOOP_DELAY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  return { child, output, exited, stop };
}

/**
 * Spawns the service and resolves once it logs "Server listening at <url>" (an event, no polling).
 * Rejects, with the service's output, when it exits first or says nothing within `startupTimeoutMs`;
 * it is stopped then, so a failed start never leaves a process behind.
 */
export async function startService(env: Record<string, string> = {}, options: { startupTimeoutMs?: number } = {}): Promise<RunningService> {
  const service = spawnService({ LOG_LEVEL: 'info', ...env });
  try {
    const [, url] = await service.output.waitFor(/Server listening at (https?:\/\/[\d.]+:\d+)/, {
      timeoutMs: options.startupTimeoutMs ?? 30_000,
      what: 'the listening line',
    });
    return { ...service, url: url ?? '' };
  } catch (error) {
    await service.stop();
    throw error;
  }
}
