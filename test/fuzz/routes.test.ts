import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import fc from 'fast-check';
import { auditResultSchema } from '../../src/api/audit.js';
import { checkSchema, errorBodySchema, lookupResultSchema } from '../../src/api/schemas.js';
import { buildTestApp } from '../helpers/app.js';
import { anyString, assertServerInvariants, runProperty } from './fuzz-options.js';
import { PROTOTYPE_NAMES } from './xml-arbitraries.js';

// Every route's query string (and the provider id in the path) with arbitrary keys and values:
// the status is never 5xx and every 4xx body has the stable shape {error: {code, message}}.
// No network: DNS goes to a closed port on 127.0.10.2, so discoveries and live checks fail at once.

const NO_NETWORK = {
  DNS_SERVERS: '127.0.10.2:9',
  DNS_TRIES: '1',
  DNS_TIMEOUT_MS: '200',
  LOOKUP_TIMEOUT_MS: '1000',
  HTTP_TIMEOUT_MS: '500',
  CHECK_TIMEOUT_MS: '500',
} as const;
/** Limits high enough that the handlers, not the rate limiter, answer. */
const NO_LIMITS = { RATE_LIMIT_MAX: '1000000', CHECK_RATE_LIMIT_MAX: '1000000', CHECK_TARGET_LIMIT_MAX: '1000000' } as const;

const ROUTES = ['/v1/lookup', '/v1/check', '/v1/audit', '/v1/providers', '/v1/providers/{id}', '/health', '/ready', '/widget.js', '/', '/desk'];

const KNOWN_KEYS = ['email', 'domain', 'check', 'fresh', 'host', 'port', 'protocol', 'security'];
const key = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...KNOWN_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom(...PROTOTYPE_NAMES, 'email[]', 'domain[0]', 'email.x', '', '%', '%zz', 'EMAIL', 'domain ', '%64omain', 'd%00') },
  { weight: 1, arbitrary: anyString(20) },
);
const knownValue = fc.constantFrom(
  // Cached from the provider database, found, or new domains (discovery fails at once: no DNS).
  'gmail.com', 'googlemail.com', 'outlook.com', 'example-mail.test', 'someone@gmail.com', 'a.b@GMAIL.COM', 'new-domain.example', 'bücher.de', 'xn--bcher-kva.de',
  // Refused targets and local names.
  '10.0.0.1', '127.0.0.1', '[::1]', '0x7f.1', 'localhost', 'example.local', 'imap.gmail.com',
  // Booleans, ports, protocols, security modes.
  'true', 'false', '1', '0', '', 'yes', '993', '143', '25', '22', '-1', '1e3', '993.0', 'imap', 'pop3', 'smtp', 'tls', 'starttls', 'none', 'ssl',
);
const rawValue = fc.oneof(
  { weight: 6, arbitrary: knownValue },
  { weight: 2, arbitrary: anyString(40) },
  { weight: 1, arbitrary: fc.constantFrom('%', '%z', '%zz', '%E0%A4%A', '%00', '%FF', '%2', '%%', '%25', '%C0%AF', '%ED%A0%80', '+', '&', '=', '#x', '?', '%0d%0aX:y') },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('a', 'x.', '%41', 'é', '@'), fc.integer({ min: 100, max: 6000 })).map(([unit, n]) => unit.repeat(n)) },
  { weight: 1, arbitrary: fc.tuple(fc.emailAddress(), fc.domain()).map(([email, domain]) => (email.length % 2 ? email : domain)) },
);
/** How a key or value is written into the URL: percent-encoded, raw, or with only some characters encoded. */
function written(text: string, mode: number): string {
  if (mode === 0) return text;
  try {
    const encoded = encodeURIComponent(text);
    return mode === 1 ? encoded : encoded.replace(/%40/g, '@').replace(/%2E/gi, '.');
  } catch {
    // Lone surrogates cannot be encoded: send them raw.
    return text;
  }
}
const pair = fc.tuple(key, rawValue, fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 6 })).map(([name, value, mode, shape]) => {
  if (shape === 0) return written(name, mode);
  if (shape === 1) return `${written(name, mode)}=`;
  return `${written(name, mode)}=${written(value, mode)}`;
});
const queryString = fc.oneof(
  { weight: 8, arbitrary: fc.array(pair, { maxLength: 6 }).map((pairs) => pairs.join('&')) },
  { weight: 1, arbitrary: fc.tuple(fc.array(pair, { maxLength: 3 }), fc.constantFrom(';', '&&', '&amp;')).map(([pairs, separator]) => pairs.join(separator)) },
  { weight: 1, arbitrary: anyString(200) },
);
const providerId = fc.oneof(
  fc.constantFrom('gmail', 'outlook', 'example-mail', 'nope', 'GMAIL', '..', '%2e%2e', '%2F', '%', '%E0%A4%A', 'a'.repeat(100), 'a'.repeat(101), ...PROTOTYPE_NAMES),
  anyString(30).map((text) => written(text, 1)),
  anyString(10),
);
const request = fc
  .tuple(fc.constantFrom(...ROUTES), providerId, fc.oneof({ weight: 9, arbitrary: queryString.map((query) => `?${query}`) }, { weight: 1, arbitrary: fc.constantFrom('', '?', '??', '?&', '?=') }))
  .map(([route, id, query]) => `${route.replace('{id}', id)}${query}`);
/** Lookup and check queries only, with the known keys weighted up, to reach the handlers more often. */
const apiRequest = fc
  .tuple(fc.constantFrom('/v1/lookup', '/v1/lookup', '/v1/check'), fc.array(pair, { minLength: 1, maxLength: 5 }))
  .map(([route, pairs]) => `${route}?${pairs.join('&')}`);

/** The route's answer to one URL: never 5xx; 4xx bodies have the stable shape; 200 bodies match the API schemas. */
async function assertAnswer(app: FastifyInstance, url: string): Promise<number> {
  const response = await app.inject({ method: 'GET', url });
  const shown = `GET ${JSON.stringify(url)} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
  assert.ok(response.statusCode < 500, shown);
  if (response.statusCode >= 400) {
    const parsed = errorBodySchema.safeParse(JSON.parse(response.body));
    assert.ok(parsed.success, `unstable error shape: ${shown}`);
  }
  if (response.statusCode === 200) {
    const path = url.split('?')[0];
    if (path === '/v1/lookup') {
      const result = lookupResultSchema.parse(response.json());
      for (const server of [...result.incoming, ...result.outgoing]) assertServerInvariants(server);
    }
    if (path === '/v1/audit') auditResultSchema.parse(response.json());
    if (path === '/v1/check') {
      const check = checkSchema.parse(response.json());
      // Nothing is reachable from this test: every check fails without a connection.
      assert.equal(check.ok, false, shown);
    }
  }
  return response.statusCode;
}

describe('fuzz: query strings of every route (app.inject)', () => {
  let app: FastifyInstance;
  let limited: FastifyInstance;
  let widgetDir: string;
  const statuses = new Map<number, number>();
  const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);

  before(async () => {
    widgetDir = await mkdtemp(join(tmpdir(), 'msl-fuzz-widget-'));
    for (const [file, body] of Object.entries({ 'widget.js': '/* widget */', 'index.html': '<!doctype html><title>x</title>', 'desk.html': '<!doctype html><title>desk</title>' })) {
      await writeFile(join(widgetDir, file), body);
    }
    app = await buildTestApp({ ...NO_NETWORK, ...NO_LIMITS }, { widgetDir });
    // The default limits, so that 429 answers are fuzzed as well.
    limited = await buildTestApp({ ...NO_NETWORK, RATE_LIMIT_MAX: '20', CHECK_RATE_LIMIT_MAX: '10' }, { widgetDir });
  });
  after(async () => {
    await app.close();
    await limited.close();
    await rm(widgetDir, { recursive: true, force: true });
  });

  it('every route: never 5xx, and every 4xx has the stable error shape', async (t) => {
    await runProperty(
      t,
      fc.asyncProperty(request, async (url) => {
        count(await assertAnswer(app, url));
      }),
      1500,
    );
  });

  it('lookup and check with mostly known parameters: never 5xx, 200 bodies match the schemas', async (t) => {
    await runProperty(
      t,
      fc.asyncProperty(apiRequest, async (url) => {
        count(await assertAnswer(app, url));
      }),
      1000,
    );
  });

  it('with the rate limits on: 429 answers have the stable error shape too', async (t) => {
    let limitedAnswers = 0;
    const runs = await runProperty(
      t,
      fc.asyncProperty(fc.oneof(apiRequest, request), async (url) => {
        const status = await assertAnswer(limited, url);
        if (status === 429) limitedAnswers += 1;
        count(status);
      }),
      300,
    );
    // Otherwise the property above held for no 429 at all (a short FUZZ_RUNS may stay inside the limits).
    if (runs >= 100) assert.ok(limitedAnswers > 0, `no 429 in ${runs} cases`);
    t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b)))}`);
  });
});
