import type { Check } from '../../src/api/schemas.js';
import { Network } from '../../src/net/connect.js';
import { DnsResolver, type DnsAnswer, type MxRecord, type SrvRecord } from '../../src/net/dns.js';
import { HttpClient, type HttpResult, type RequestOptions } from '../../src/net/http.js';
import { AddressPolicy } from '../../src/net/policy.js';
import type { CheckTarget, ServerChecker } from '../../src/probes/types.js';
import type { CandidateServer, Source } from '../../src/sources/types.js';

/** A DNS server address where nothing listens: every query fails at once, nothing leaves the host. */
export const NO_DNS_SERVER = '127.0.1.1:9';

/** A passing check of `target` as a checker would report it, without sockets; `overrides` adjust it. */
export function passingCheck(target: CheckTarget, overrides: Partial<Check> = {}): Check {
  return {
    ok: true, host: target.host, port: target.port, protocol: target.protocol, security: target.security, address: '192.0.2.1',
    ms: { dns: 1, connect: 1, tls: 1, total: 3 }, greeting: '* OK', capabilities: [], authMechanisms: [],
    starttls: false, tls: null, warnings: [],
    ...overrides,
  };
}

/** A checker that connects nowhere: every check passes, and `calls` counts them (read after the work has finished). */
export class PassingChecker implements ServerChecker {
  calls = 0;
  async check(target: CheckTarget): Promise<Check> {
    this.calls += 1;
    return passingCheck(target);
  }
}

/** An autoconfig source that always finds `servers` (a document written by whoever controls the domain). */
export function autoconfigFinding(servers: CandidateServer[]): Source {
  return {
    name: 'autoconfig',
    priority: 10,
    async lookup() {
      return { outcome: 'found', servers };
    },
  };
}

/** How a fake resolver answers one kind of question; `undefined` means NXDOMAIN. */
export type DnsAnswerer<T> = (name: string, signal?: AbortSignal) => DnsAnswer<T> | undefined | Promise<DnsAnswer<T> | undefined>;

/** The answers of a fake resolver, per question type: the small interface the sources use. */
export interface DnsLookup {
  /** A and AAAA together, as `DnsResolver.addresses`. */
  addresses?: DnsAnswerer<string>;
  srv?: DnsAnswerer<SrvRecord>;
  mx?: DnsAnswerer<MxRecord>;
  txt?: DnsAnswerer<string>;
}

/** One question a fake resolver was asked. */
export interface DnsQuestion {
  type: keyof DnsLookup;
  name: string;
  signal: AbortSignal | undefined;
}

/** The answer of a name that does not exist. */
export const NXDOMAIN = { ok: false, kind: 'not-found', code: 'ENOTFOUND', message: 'nx' } as const satisfies DnsAnswer<never>;

/** A found answer of `records` (ttlS: 60 unless given). */
export function found<T>(records: T[], ttlS: number | undefined = 60): DnsAnswer<T> {
  return { ok: true, records, ttlS };
}

/**
 * A resolver that answers from `lookup` and records every question. It is a DnsResolver (so it goes
 * wherever the real one goes, with no cast) whose every query method is overridden: it never sends
 * a query (its base is pointed at a closed loopback port all the same).
 */
export class FakeDns extends DnsResolver {
  readonly questions: DnsQuestion[] = [];
  readonly #lookup: DnsLookup;

  constructor(lookup: DnsLookup = {}) {
    super({ servers: [NO_DNS_SERVER], timeoutMs: 1, tries: 1 });
    this.#lookup = lookup;
  }

  /** The names asked, in order. */
  get asked(): string[] {
    return this.questions.map((question) => question.name);
  }

  override addresses(host: string, signal?: AbortSignal): Promise<DnsAnswer<string>> {
    return this.#answer('addresses', this.#lookup.addresses, host, signal);
  }

  override mx(domain: string, signal?: AbortSignal): Promise<DnsAnswer<MxRecord>> {
    return this.#answer('mx', this.#lookup.mx, domain, signal);
  }

  override srv(name: string, signal?: AbortSignal): Promise<DnsAnswer<SrvRecord>> {
    return this.#answer('srv', this.#lookup.srv, name, signal);
  }

  override txt(name: string, signal?: AbortSignal): Promise<DnsAnswer<string>> {
    return this.#answer('txt', this.#lookup.txt, name, signal);
  }

  override cancel(): void {}

  async #answer<T>(type: keyof DnsLookup, answerer: DnsAnswerer<T> | undefined, name: string, signal: AbortSignal | undefined): Promise<DnsAnswer<T>> {
    this.questions.push({ type, name, signal });
    return (await answerer?.(name, signal)) ?? NXDOMAIN;
  }
}

/** A resolver under which every name has the given addresses (as c-ares would hand them over). */
export function resolvingTo(...addresses: string[]): FakeDns {
  return new FakeDns({ addresses: () => found(addresses) });
}

/** A network that resolves through `dns` and clears addresses with `policy` (the real door, fake DNS). */
export function fakeNetwork(dns: DnsResolver, allowCidrs: string[] = []): Network {
  return new Network(dns, new AddressPolicy(allowCidrs));
}

/** One request a fake HTTP client was asked to make: the URL and the options it came with. */
export interface HttpRequest extends RequestOptions {
  url: string;
}

/** How a fake HTTP client answers a request; `undefined` means a 404. */
export type HttpAnswerer = (request: HttpRequest) => HttpResult | undefined | Promise<HttpResult | undefined>;

/** The 404 answer to `url`. */
export function notFound(url: string): HttpResult {
  return { ok: false, code: 'http_error', status: 404, message: 'HTTP 404', url };
}

/**
 * An HTTP client that answers from `answer` and records every request. It is an HttpClient (no
 * cast) whose one request method, which `get` and `post` go through, is overridden: it never opens
 * a socket.
 */
export class FakeHttp extends HttpClient {
  readonly requests: HttpRequest[] = [];
  readonly #answer: HttpAnswerer;

  constructor(answer: HttpAnswerer = () => undefined) {
    super({ network: fakeNetwork(new FakeDns()), timeoutMs: 1 });
    this.#answer = answer;
  }

  /** The URLs asked, in order. */
  get asked(): string[] {
    return this.requests.map((request) => request.url);
  }

  override async request(url: string, options: RequestOptions): Promise<HttpResult> {
    const request = { ...options, url };
    this.requests.push(request);
    return (await this.#answer(request)) ?? notFound(url);
  }
}

/** A fake HTTP client answering from a table of URL → result (or a function giving it); other URLs: 404. */
export function httpTable(table: Record<string, HttpResult | ((request: HttpRequest) => Promise<HttpResult>)>): FakeHttp {
  return new FakeHttp((request) => {
    const entry = table[request.url];
    return typeof entry === 'function' ? entry(request) : entry;
  });
}
