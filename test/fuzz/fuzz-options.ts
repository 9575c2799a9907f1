import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isPublicHostName } from '../../src/api/input.js';
import { authenticationSchema, protocolSchema, securitySchema } from '../../src/api/schemas.js';

// Shared settings of the fuzz suite. A fixed seed by default keeps CI reproducible; FUZZ_SEED
// replays (or varies) it, FUZZ_RUNS sets the number of cases of every property, e.g.
//   FUZZ_SEED=$RANDOM FUZZ_RUNS=20000 node --import tsx --test test/fuzz/input.test.ts

/** The default seed: any fixed number; changing it only changes which cases run. */
const DEFAULT_SEED = 20_250_611;

/** The seed every property of this run uses (FUZZ_SEED, else the fixed default). */
export const FUZZ_SEED = readInteger('FUZZ_SEED') ?? DEFAULT_SEED;

/** FUZZ_RUNS when set: the number of cases of every property, replacing each one's default. */
const RUNS_OVERRIDE = readInteger('FUZZ_RUNS');

function readInteger(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw new Error(`${name} must be an integer, not ${JSON.stringify(raw)}`);
  return value;
}

/** Number of cases for a property: FUZZ_RUNS when given, else the property's default. */
export function fuzzRuns(defaultRuns: number): number {
  return RUNS_OVERRIDE !== undefined && RUNS_OVERRIDE > 0 ? RUNS_OVERRIDE : defaultRuns;
}

// On failure the error names the seed (and fast-check's replay path), so the counterexample can be reproduced exactly.
/** Runs a property with the suite's seed, reports its number of cases as a test diagnostic and returns it. */
export async function runProperty<Ts extends [unknown, ...unknown[]]>(
  t: { diagnostic(message: string): void },
  property: fc.IProperty<Ts> | fc.IAsyncProperty<Ts>,
  defaultRuns: number,
): Promise<number> {
  const numRuns = fuzzRuns(defaultRuns);
  const details = await fc.check(property as fc.IAsyncProperty<Ts>, { seed: FUZZ_SEED, numRuns });
  if (details.failed) {
    const report = fc.defaultReportMessage(details) ?? 'property failed';
    throw new Error(`fuzz property failed with FUZZ_SEED=${FUZZ_SEED} (rerun with FUZZ_SEED=${FUZZ_SEED} to reproduce)\n${report}`);
  }
  t.diagnostic(`${details.numRuns} cases, seed ${FUZZ_SEED}`);
  return details.numRuns;
}

/** The shape every reader's server has: protocol, host, port, security, username, authentication. */
export interface ServerLike {
  protocol: string;
  host: string;
  port: number;
  security: string;
  username: string;
  authentication: readonly string[];
}

// A known protocol, a host that matches the host rule (isPublicHostName: the rule input domains follow),
// a port 1–65535, security tls/starttls/none, a non-empty username without control characters,
// and at least one known authentication method.
/** Asserts the invariants of every server a document reader returns. */
export function assertServerInvariants(server: ServerLike): void {
  const shown = JSON.stringify(server);
  assert.ok(protocolSchema.safeParse(server.protocol).success, `protocol: ${shown}`);
  assert.ok(typeof server.host === 'string' && isPublicHostName(server.host), `host: ${shown}`);
  assert.ok(Number.isInteger(server.port) && server.port >= 1 && server.port <= 65535, `port: ${shown}`);
  assert.ok(securitySchema.safeParse(server.security).success, `security: ${shown}`);
  assert.ok(typeof server.username === 'string' && server.username.length > 0, `username empty: ${shown}`);
  assert.doesNotMatch(server.username, /[\u0000-\u001f\u007f]/, `username has a control character: ${shown}`);
  assert.ok(server.authentication.length > 0, `no authentication: ${shown}`);
  for (const method of server.authentication) assert.ok(authenticationSchema.safeParse(method).success, `authentication: ${shown}`);
}

/** A https URL as the readers may return it: parsable, https, no credentials. */
export function assertHttpsUrl(value: string): void {
  const url = new URL(value);
  assert.equal(url.protocol, 'https:', value);
  assert.equal(url.username, '', value);
  assert.equal(url.password, '', value);
}

/** Strings of any code points, lone surrogates included (what a decoder or a client may hand over). */
export const anyString = (maxLength = 200): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ unit: 'binary', maxLength }),
    fc.string({ unit: 'grapheme', maxLength }),
    fc.string({ maxLength }),
    fc.array(fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)), { maxLength: 4 }).map((parts) => parts.join('')),
  );
