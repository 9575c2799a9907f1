import { z } from 'zod';
import ipaddr from 'ipaddr.js';
import { hostNameProblem, normaliseDomain } from '../api/input.js';
import { parseDnsServer } from '../net/dns.js';

/** Items of a comma-separated list, trimmed, without empty ones. */
const csvItems = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.length > 0);

/** Comma-separated list helper: trims items and drops empty ones. */
const csv = z.string().default('').transform(csvItems);

const intFrom = (min: number, max: number, fallback: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** An on/off switch: `true`/`1` or `false`/`0` (empty means off). */
const flag = (fallback: 'true' | 'false') =>
  z
    .enum(['true', 'false', '1', '0', ''])
    .default(fallback)
    .transform((value) => value === 'true' || value === '1');

/** A DNS server given as `ip`, `ip:port` or `[ipv6]:port`. */
const dnsServer = z.string().refine((value) => parseDnsServer(value) !== null, {
  message: 'expected ip, ip:port or [ipv6]:port',
});

const cidr = z.string().refine(
  (value) => {
    try {
      ipaddr.parseCIDR(value);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a CIDR such as 127.0.0.0/8 or ::1/128' },
);

/** An ISPDB base URL: the domain is appended to it. */
const ispdbBase = z.string().regex(/^https?:\/\/[^\s]+$/, { message: 'expected http(s) URLs (the domain is appended), or empty to disable' });

/** A mail domain of SERVE_DOMAINS, normalised as lookups normalise domains (lower-case ASCII, punycode). */
const servedDomain = z.string().transform((value, context) => {
  const result = normaliseDomain(value);
  if (result.ok) return result.domain;
  context.addIssue({ code: 'custom', message: `${value}: ${result.message}` });
  return z.NEVER;
});

/** A public host name, lower-cased (empty: unset). */
const publicHostName = z
  .string()
  .default('')
  .transform((value) => value.trim().toLowerCase().replace(/\.$/, ''))
  .refine((value) => value === '' || hostNameProblem(value) === null, { message: 'expected a public host name such as settings.example.net' });

/**
 * Thunderbird's current ISPDB, then the one draft-ietf-mailmaint-autoconfig names; the second is
 * asked only when the first fails (a 404 is an answer).
 */
export const DEFAULT_ISPDB_URLS = ['https://autoconfig.thunderbird.net/v1.1/', 'https://v1.ispdb.net/'];

/** The environment variables the service reads, with their defaults. */
const envObject = z.object({
  PORT: intFrom(0, 65535, 8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PROVIDERS_DIR: z.string().default(''),
  CACHE_MAX_ENTRIES: intFrom(1, 10_000_000, 10_000),
  CACHE_MAX_BYTES: intFrom(1024, 4 * 1024 ** 3, 64 * 1024 ** 2),
  CACHE_TTL_S: intFrom(1, 7 * 86_400, 3_600),
  CACHE_NEGATIVE_TTL_S: intFrom(1, 86_400, 300),
  LOOKUP_TIMEOUT_MS: intFrom(100, 60_000, 8_000),
  REQUEST_TIMEOUT_MS: intFrom(1_000, 120_000, 30_000),
  // Connections to the service itself (see src/net/connection-limits.ts). Node's own defaults
  // (no cap, 60 s for headers, checked every 30 s) let half-sent requests exhaust descriptors.
  // Server-wide: Node raises the soft descriptor limit to the hard one (often 4096) at start; this
  // leaves room for the outbound sockets of 64 discoveries and 32 checks below that.
  MAX_CONNECTIONS: intFrom(1, 1_000_000, 1_024),
  // Per client (IPv4 address, IPv6 /64); 0 turns it off. Browsers open at most 6 per host; 32 leaves
  // room for a small office behind one NAT. Not applied when TRUST_PROXY is on (the peer is the proxy).
  CONNECTIONS_PER_CLIENT_MAX: intFrom(0, 1_000_000, 32),
  // Time for a request's headers (a GET is only headers): a real client sends them in one packet.
  HEADERS_TIMEOUT_MS: intFrom(100, 120_000, 10_000),
  // Idle time of a kept-alive connection between requests (Fastify's own default is 72 s).
  KEEP_ALIVE_TIMEOUT_MS: intFrom(100, 600_000, 5_000),
  // Requests per connection before Node asks the client to reconnect (nginx's keepalive_requests); 0: no limit.
  // Off by default: Node answers a request past the limit with its own 503 when the client ignores
  // `Connection: close` (load generators, some pipelining clients), and the service never answers 5xx
  // for a client's behaviour; idle connections are bounded by KEEP_ALIVE_TIMEOUT_MS instead.
  MAX_REQUESTS_PER_SOCKET: intFrom(0, 1_000_000, 0),
  DNS_SERVERS: csv.pipe(z.array(dnsServer)),
  // One try waits DNS_TIMEOUT_MS, the retry twice that (c-ares backs off): 1 s + 2 s = 3 s at most
  // per question (it was 2 s + 4 s = 6 s, most of an 8 s lookup for a zone that never answers).
  // A recursive resolver answers a cold name in well under a second; one that needs longer keeps
  // resolving after our first try gives up, so the retry a second later usually finds the answer
  // in its cache, and a lost UDP packet still gets its retry. 3 s also leaves room within
  // LOOKUP_TIMEOUT_MS for a second step (MX, then the MX host's autoconfig).
  DNS_TIMEOUT_MS: intFrom(50, 30_000, 1_000),
  DNS_TRIES: intFrom(1, 5, 2),
  // A zone whose servers time out or answer SERVFAIL is not asked again for this long (0: always
  // ask): its other names (`*.blackhole.example`) then fail at once instead of each holding a slot.
  DNS_FAILED_ZONE_TTL_S: intFrom(0, 3_600, 60),
  PROBE_ALLOW_CIDRS: csv.pipe(z.array(cidr)),
  /** Old single-URL name of ISPDB_URLS, still read when ISPDB_URLS is unset (empty disables the ISPDB). */
  ISPDB_URL: ispdbBase.or(z.literal('')).optional(),
  ISPDB_URLS: z.string().optional().transform((value) => (value === undefined ? undefined : csvItems(value))).pipe(z.array(ispdbBase).optional()),
  HTTP_TIMEOUT_MS: intFrom(100, 60_000, 3_000),
  CHECK_TIMEOUT_MS: intFrom(100, 60_000, 5_000),
  CHECK_CACHE_TTL_S: intFrom(0, 3_600, 60),
  RATE_LIMIT_MAX: intFrom(1, 1_000_000, 60),
  RATE_LIMIT_WINDOW_MS: intFrom(1_000, 3_600_000, 60_000),
  DISCOVERY_CONCURRENCY: intFrom(1, 10_000, 64),
  // How long the JMAP companion may still run once a ranked source has found settings.
  DISCOVERY_COMPANION_GRACE_MS: intFrom(0, 10_000, 100),
  // A sixteenth of DISCOVERY_CONCURRENCY: one client (address, IPv6 /64) cannot hold more than that
  // share of the slots, so it takes 16 addresses, not 8, to fill them; a person needs one at a time.
  DISCOVERY_PER_CLIENT_MAX: intFrom(1, 10_000, 4),
  CHECK_RATE_LIMIT_MAX: intFrom(1, 1_000_000, 30),
  CHECK_TARGET_LIMIT_MAX: intFrom(1, 1_000_000, 20),
  CHECK_CONCURRENCY: intFrom(1, 10_000, 32),
  // An audit runs every source to its end plus a live check of every server it finds (up to 16):
  // far more outbound work than a lookup, so few run at once, and one person needs one at a time.
  AUDIT_CONCURRENCY: intFrom(1, 10_000, 8),
  AUDIT_PER_CLIENT_MAX: intFrom(1, 10_000, 2),
  // Shared state of a fleet of replicas (see README, "Running several replicas"); unset: this process's memory.
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, { message: 'expected redis://[:password@]host[:port][/db] or rediss:// (TLS)' })
    .or(z.literal(''))
    .default(''),
  REDIS_PREFIX: z.string().regex(/^[A-Za-z0-9:_.-]{1,64}$/, { message: 'expected 1-64 of A-Z a-z 0-9 : _ . -' }).default('mailsettings:'),
  // Each Redis call's own limit: on a LAN a call takes well under a millisecond, so a call that
  // takes this long means Redis is slow or gone, and the replica answers from its own state instead.
  REDIS_TIMEOUT_MS: intFrom(10, 10_000, 250),
  // The local cache in front of the shared one: short, so a fresh=true refresh elsewhere shows soon.
  REDIS_LOCAL_TTL_S: intFrom(1, 3_600, 30),
  REDIS_LOCAL_MAX_ENTRIES: intFrom(1, 10_000_000, 1_000),
  CORS_ORIGINS: z.string().default('*'),
  TRUST_PROXY: flag('false'),
  // GET /metrics (Prometheus text format); off removes the route and every recording.
  METRICS: flag('true'),
  // Load shedding (src/plugins/load-shedding.ts): past either threshold, new discoveries and live
  // checks get 503 `busy` while cached lookups and /health keep answering. 0 turns a threshold off.
  // Mean event-loop delay over one sample interval: at 200 ms every request already waits that long.
  SHED_MAX_EVENT_LOOP_DELAY_MS: intFrom(0, 60_000, 200),
  // V8 heap in use; off by default because the right figure depends on --max-old-space-size.
  SHED_MAX_HEAP_USED_BYTES: intFrom(0, 64 * 1024 ** 3, 0),
  SHED_SAMPLE_INTERVAL_MS: intFrom(50, 60_000, 500),
  SHED_RETRY_AFTER_S: intFrom(1, 3_600, 5),
  // Serving client autoconfiguration (src/serve/): the domains answered, the host name the DNS
  // records point at, the optional profile signing pair, and the optional TLS pair to serve HTTPS.
  SERVE_DOMAINS: csv.pipe(z.array(servedDomain)),
  SERVE_HOSTNAME: publicHostName,
  MOBILECONFIG_SIGN_CERT: z.string().default(''),
  MOBILECONFIG_SIGN_KEY: z.string().default(''),
  TLS_CERT_FILE: z.string().default(''),
  TLS_KEY_FILE: z.string().default(''),
});

/** Settings that only make sense together: both files of a pair, and a host name for the records of served domains. */
const envChecked = envObject.superRefine((env, context) => {
  const pair = (first: 'MOBILECONFIG_SIGN_CERT' | 'TLS_CERT_FILE', second: 'MOBILECONFIG_SIGN_KEY' | 'TLS_KEY_FILE') => {
    if ((env[first] === '') !== (env[second] === '')) {
      context.addIssue({ code: 'custom', path: [env[first] === '' ? first : second], message: `${first} and ${second} are set together or not at all` });
    }
  };
  pair('MOBILECONFIG_SIGN_CERT', 'MOBILECONFIG_SIGN_KEY');
  pair('TLS_CERT_FILE', 'TLS_KEY_FILE');
  if (env.SERVE_DOMAINS.length > 0 && env.SERVE_HOSTNAME === '') {
    context.addIssue({
      code: 'custom',
      path: ['SERVE_HOSTNAME'],
      message: 'SERVE_DOMAINS is set: name the host clients reach this service at over HTTPS (the target of the published records)',
    });
  }
});

/** The environment variables the service reads, with their defaults; ISPDB_URL folded into ISPDB_URLS. */
export const envSchema = envChecked.transform(({ ISPDB_URL, ISPDB_URLS, ...rest }) => ({
  ...rest,
  ISPDB_URLS: ISPDB_URLS ?? (ISPDB_URL === undefined ? DEFAULT_ISPDB_URLS : ISPDB_URL === '' ? [] : [ISPDB_URL]),
}));

/** Parsed, typed service configuration. */
export type Config = z.infer<typeof envSchema>;

/** Raised when the environment does not parse; its message lists every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment once; throws ConfigError naming each invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(env)'}=${JSON.stringify(env[String(issue.path[0])] ?? '')}: ${issue.message}`,
    );
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  return result.data;
}

/** The names of the environment variables the service reads. */
export type EnvName = keyof z.input<typeof envObject>;

/** The same names at run time (deployment manifests are checked against them). */
export const ENV_NAMES = Object.keys(envObject.shape) as EnvName[];
