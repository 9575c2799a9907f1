import type { Authentication, Check, Protocol, Security } from '../api/schemas.js';
import { Network, type AddressLookup } from '../net/connect.js';
import type { DnsAnswer } from '../net/dns.js';
import type { Prober } from '../probes/types.js';
import type { CandidateServer, Source, SourceResult } from './types.js';
import { SOURCE_TABLE } from './source-table.js';

/** Host name prefixes tried per protocol, best first ('' is the bare domain). */
export const GUESS_HOSTS: Record<Protocol, readonly string[]> = {
  imap: ['imap.', 'mail.', ''],
  pop3: ['pop3.', 'pop.', 'mail.', ''],
  smtp: ['smtp.', 'mail.'],
};

/** Ports tried per protocol: implicit TLS first, then STARTTLS (RFC 8314 order). */
export const GUESS_PORTS: Record<Protocol, { tls: number; starttls: number }> = {
  imap: { tls: 993, starttls: 143 },
  pop3: { tls: 995, starttls: 110 },
  smtp: { tls: 465, starttls: 587 },
};

/** Options of the guessing source. */
export interface GuessOptions {
  network: Network;
  /**
   * Runs the probes (the service's LiveChecker). Security: probes connect to hosts named after
   * untrusted input, so they count against the same per-address budget and concurrency slots as
   * live checks (extra trusted CAs, for tests, are the checker's too).
   */
  checker: Prober;
  /** Time limit of one probe (short: guessing must stay fast). */
  timeoutMs: number;
  /** Delay between the starts of successive probes, so a burst never hits one host at once. */
  staggerMs?: number;
  /** How long a guessed answer may be cached. */
  ttlS?: number;
}

interface Probe {
  protocol: Protocol;
  host: string;
  hostRank: number;
  port: number;
  security: Exclude<Security, 'none'>;
}

/** Maps SASL mechanisms (and IMAP's LOGIN command) to the autoconfig names the API uses. */
export function authenticationFor(check: Pick<Check, 'protocol' | 'capabilities' | 'authMechanisms'>): Authentication[] {
  const found = new Set<Authentication>();
  for (const mechanism of check.authMechanisms) {
    if (mechanism === 'PLAIN' || mechanism === 'LOGIN') found.add('password-cleartext');
    else if (mechanism === 'CRAM-MD5' || mechanism === 'DIGEST-MD5' || mechanism.startsWith('SCRAM-')) found.add('password-encrypted');
    else if (mechanism === 'XOAUTH2' || mechanism === 'OAUTHBEARER') found.add('oauth2');
    else if (mechanism === 'GSSAPI') found.add('gssapi');
    else if (mechanism === 'NTLM') found.add('ntlm');
    else if (mechanism === 'EXTERNAL') found.add('tls-client-cert');
  }
  if (check.protocol === 'imap' && !check.capabilities.includes('LOGINDISABLED')) found.add('password-cleartext');
  if (check.protocol === 'pop3' && check.capabilities.includes('USER')) found.add('password-cleartext');
  return found.size > 0 ? [...found] : ['password-cleartext'];
}

/** A TLS session was established and the server spoke the protocol, even if its certificate is bad. */
const TLS_UP_BUT_UNTRUSTED = new Set(['certificate_untrusted', 'certificate_expired', 'hostname_mismatch']);

/** The names guessing may probe, after one resolution each. */
interface GuessNames {
  names: string[];
  /** Names that resolved to allowed addresses: the only ones probed. */
  usable: Set<string>;
  /** Names the address policy refused. */
  refused: string[];
}

/** One probe that ran, and what it found. */
interface ProbeOutcome {
  probe: Probe;
  check: Check;
}

/** Resolves each guessable name once; unresolvable and refused names are not probed at all. */
async function resolveNames(network: Network, domain: string, signal: AbortSignal): Promise<GuessNames> {
  const names = [...new Set(Object.values(GUESS_HOSTS).flat())].map((prefix) => `${prefix}${domain}`);
  const resolutions = await Promise.all(names.map(async (name) => ({ name, target: await network.resolveTarget(name, signal) })));
  const usable = new Set(resolutions.filter(({ target }) => target.ok).map(({ name }) => name));
  const refused = resolutions.filter(({ target }) => !target.ok && target.code === 'forbidden_target').map(({ name }) => name);
  return { names, usable, refused };
}

/** Every probe of the usable names: implicit TLS before STARTTLS, then by protocol and host preference. */
function planProbes(domain: string, usable: ReadonlySet<string>): Probe[] {
  const probes: Probe[] = [];
  for (const security of ['tls', 'starttls'] as const) {
    for (const protocol of ['imap', 'pop3', 'smtp'] as const) {
      GUESS_HOSTS[protocol].forEach((prefix, hostRank) => {
        const host = `${prefix}${domain}`;
        if (usable.has(host)) probes.push({ protocol, host, hostRank, port: GUESS_PORTS[protocol][security], security });
      });
    }
  }
  return probes;
}

/** Runs the probes staggered by `staggerMs`; a probe not started before the abort yields null. */
function runProbes(probes: readonly Probe[], options: GuessOptions, network: Network, staggerMs: number, signal: AbortSignal): Promise<(ProbeOutcome | null)[]> {
  return Promise.all(
    probes.map(async (probe, index) => {
      if (index > 0) await delay(index * staggerMs, signal);
      if (signal.aborted) return null;
      const check = await options.checker.probe(
        { protocol: probe.protocol, host: probe.host, port: probe.port, security: probe.security },
        { network, timeoutMs: options.timeoutMs, signal },
      );
      return { probe, check };
    }),
  );
}

/** The security a probe showed the server to have, and whether it can be vouched for; null when it showed nothing usable. */
function guessedSecurity({ probe, check }: ProbeOutcome): { security: Security; trusted: boolean } | null {
  if (check.ok) return { security: probe.security, trusted: true };
  // A certificate that failed verification means the guess cannot be vouched for.
  if (check.error && TLS_UP_BUT_UNTRUSTED.has(check.error.code)) return { security: probe.security, trusted: false };
  // It speaks the protocol, but only in plaintext: reported, never recommended.
  if (probe.security === 'starttls' && check.error?.code === 'starttls_unavailable' && check.greeting) return { security: 'none', trusted: false };
  return null;
}

/** Per protocol and security, the first host in preference order that answered properly. */
function bestServers(outcomes: readonly (ProbeOutcome | null)[]): CandidateServer[] {
  const best = new Map<string, { rank: number; server: CandidateServer }>();
  for (const outcome of outcomes) {
    const guessed = outcome ? guessedSecurity(outcome) : null;
    if (!outcome || !guessed) continue;
    const { probe, check } = outcome;
    const key = `${probe.protocol}|${guessed.security}`;
    const current = best.get(key);
    if (current && current.rank <= probe.hostRank) continue;
    best.set(key, {
      rank: probe.hostRank,
      server: {
        protocol: probe.protocol,
        host: probe.host,
        port: probe.port,
        security: guessed.security,
        username: '%EMAILADDRESS%',
        authentication: authenticationFor(check),
        source: `guess:${probe.host}:${probe.port}`,
        trusted: guessed.trusted,
      },
    });
  }
  return [...best.values()].map((entry) => entry.server);
}

/** The result of a guess: `found` with an incoming server, else why there is none. */
function guessResult(servers: CandidateServer[], outcomes: readonly (ProbeOutcome | null)[], tried: string, ttlS: number, signal: AbortSignal): SourceResult {
  if (!servers.some((server) => server.protocol !== 'smtp')) {
    if (signal.aborted) return { outcome: 'timeout', detail: `stopped before an answer (${tried})` };
    // Not a clean "nothing": probes that a budget refused may have found something, so this
    // must not be cached as long as a real not-found (an error marks the discovery degraded).
    const overBudget = outcomes.filter((entry) => entry?.check.error?.code === 'rate_limited' || entry?.check.error?.code === 'busy').length;
    if (overBudget > 0) return { outcome: 'error', error: 'outbound_budget', detail: `${overBudget} of ${tried} refused by the outbound connection budgets` };
    return { outcome: 'not-found', detail: `no IMAP or POP3 server answered (${tried})` };
  }
  return {
    outcome: 'found',
    servers,
    ttlS,
    detail: `guessed from ${tried}: ${servers.map((server) => `${server.protocol}:${server.host}:${server.port}/${server.security}`).join(', ')}`,
  };
}

/**
 * Source 6, the fallback: probes the usual host names (imap., mail., pop3., pop., the bare domain;
 * smtp., mail.) on the implicit-TLS ports first, then the STARTTLS ports, in parallel with a small
 * stagger and a short timeout, through the same credential-free dialog as the live checks. A guess
 * counts only when the server greets with the right protocol and, for STARTTLS, the upgrade
 * succeeds; a server that only talks in plaintext is reported with security `none` (the lookup
 * never recommends it). Security: every name goes through the resolver and the address policy;
 * discovery as a whole is rate limited per client and bounded service-wide.
 */
export function createGuessSource(options: GuessOptions): Source {
  const stagger = options.staggerMs ?? 10;
  return {
    ...SOURCE_TABLE.guess,
    async lookup({ subject, signal }): Promise<SourceResult> {
      const network = memoisedNetwork(options.network);
      const { names, usable, refused } = await resolveNames(network, subject.domain, signal);
      if (usable.size === 0) {
        if (refused.length > 0) return { outcome: 'blocked', detail: `refused by the address policy: ${refused.join(', ')}` };
        return { outcome: 'not-found', detail: `none of ${names.join(', ')} resolves` };
      }
      const probes = planProbes(subject.domain, usable);
      const outcomes = await runProbes(probes, options, network, stagger, signal);
      const tried = `${probes.length} probes of ${[...usable].join(', ')}`;
      return guessResult(bestServers(outcomes), outcomes, tried, options.ttlS ?? 600, signal);
    },
  };
}

/**
 * The same network door, with each name resolved once per guess: the probes of one host reuse the
 * answer that was checked (fewer queries, and every probe of a name sees the same addresses).
 */
function memoisedNetwork(network: Network): Network {
  const answers = new Map<string, Promise<DnsAnswer<string>>>();
  const once: AddressLookup = {
    addresses(host: string, signal?: AbortSignal): Promise<DnsAnswer<string>> {
      let answer = answers.get(host);
      if (!answer) {
        answer = network.dns.addresses(host, signal);
        answers.set(host, answer);
      }
      return answer;
    },
  };
  return new Network(network.dns, network.policy, network.log, once);
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
