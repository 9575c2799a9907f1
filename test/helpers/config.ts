import { loadConfig, type Config, type EnvName } from '../../src/config/env.js';

/** A configuration for tests: defaults plus overrides, no environment read. */
export function testConfig(overrides: Partial<Record<EnvName, string>> = {}): Config {
  // Load shedding off unless a test turns it on: on a shared test machine the event loop is blocked
  // by the tests themselves (tsx compiling, synchronous property runs), and shedding would turn
  // unrelated cache-missing lookups into 503s at random.
  return loadConfig({ LOG_LEVEL: 'silent', SHED_MAX_EVENT_LOOP_DELAY_MS: '0', ...overrides } as NodeJS.ProcessEnv);
}
