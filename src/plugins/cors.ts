import fp from 'fastify-plugin';
import { memo } from '../cache/memo.js';

/** CORS_ORIGINS parsed: `*` for any origin, else the exact origins listed. */
export function parseCorsOrigins(value: string): '*' | string[] {
  const origins = value
    .split(',')
    .map((origin) => origin.trim().replace(/\/+$/, ''))
    .filter((origin) => origin.length > 0);
  if (origins.length === 0 || origins.includes('*')) return '*';
  return origins;
}

// The widget reads Retry-After to tell a rate-limited customer how long to wait. (Only headers the
// service sends are listed: its rate limiter's are x-ratelimit-*, which the widget does not read.)
const EXPOSED_HEADERS = 'Retry-After';
const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';
const PREFLIGHT_MAX_AGE_S = '600';

/** The CORS headers of an API response, by the request's Origin header (preflights add their own). */
export type CorsHeaders = (origin: string | undefined) => Readonly<Record<string, string>>;

/**
 * The CORS headers of API responses under CORS_ORIGINS. Every answer is made once: the lookup fast
 * lane (routes/lookup-fast-lane.ts) sends them too, so both paths say exactly the same.
 */
export function corsHeaders(value: string): CorsHeaders {
  const origins = parseCorsOrigins(value);
  if (origins === '*') {
    // Any origin: the same header on every response, so caches need no Vary.
    const any = Object.freeze({ 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED_HEADERS });
    return () => any;
  }
  // The answer depends on the Origin header, so caches must key on it.
  const refused = Object.freeze({ vary: 'Origin' });
  const allowed = new Map(
    origins.map((origin) => [origin, Object.freeze({ vary: 'Origin', 'access-control-allow-origin': origin, 'access-control-expose-headers': EXPOSED_HEADERS })]),
  );
  return (origin) => (origin === undefined ? undefined : allowed.get(origin)) ?? refused;
}

/**
 * The same headers as flat `[name, value, …]` pairs, Node's writeHead form (the lookup fast lane's),
 * each made once: corsHeaders has a fixed set of answers.
 */
export function corsHeaderPairs(value: string): (origin: string | undefined) => readonly string[] {
  const headersFor = corsHeaders(value);
  const pairsOf = memo((headers: Readonly<Record<string, string>>): readonly string[] => Object.entries(headers).flat());
  return (origin) => pairsOf(headersFor(origin));
}

/**
 * Lets browsers on the listed origins call the read-only API (the widget on an ISP's page), under
 * the Fetch standard's CORS protocol. The API takes no credentials and only GET/HEAD, so the whole
 * policy is one header per response and a preflight answer. Written here rather than with
 * @fastify/cors, whose hook copies its options object and builds Fastify's route options twice on
 * every request: on the cached lookup it cost several per cent of throughput (npm run bench).
 */
export const cors = fp<{ origins: string; except?: string }>(
  async (app, options) => {
    const headersFor = corsHeaders(options.origins);
    const anyOrigin = parseCorsOrigins(options.origins) === '*';
    const except = options.except;
    app.addHook('onRequest', function corsHeadersHook(request, reply, done) {
      // Security: operational paths (GET /metrics) get no CORS headers, so no web page a browser
      // opens can read them, whatever CORS_ORIGINS allows for the API.
      if (except !== undefined && request.url.startsWith(except)) return done();
      reply.headers(headersFor(request.headers.origin));
      if (request.method !== 'OPTIONS') return done();
      // A preflight (any OPTIONS request) is answered here, before routing and rate limits: the
      // browser sends no credentials with it and it costs nothing.
      const requested = request.headers['access-control-request-headers'];
      if (requested !== undefined) {
        reply.header('access-control-allow-headers', requested);
        reply.header('vary', anyOrigin ? 'Access-Control-Request-Headers' : 'Origin, Access-Control-Request-Headers');
      }
      void reply
        .code(204)
        .header('access-control-allow-methods', ALLOWED_METHODS)
        .header('access-control-max-age', PREFLIGHT_MAX_AGE_S)
        .header('content-length', '0')
        .send();
    });
    // OPTIONS must reach a route for the hook above to run; the hook always answers first.
    app.options('*', { schema: { hide: true } }, async (_request, reply) => reply.code(204).send());
  },
  { name: 'cors', fastify: '5.x' },
);
