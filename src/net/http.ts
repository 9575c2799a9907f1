import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import { Agent, buildConnector, request, type Dispatcher } from 'undici';
import type { Network } from './connect.js';
import { untilAborted } from './abort.js';

/** Stable codes of a failed fetch. */
export type HttpErrorCode =
  | 'invalid_url'
  | 'blocked'
  | 'no_such_host'
  | 'dns_failed'
  | 'connect_failed'
  | 'tls_error'
  | 'timeout'
  | 'aborted'
  | 'too_large'
  | 'encoding_refused'
  | 'redirect_refused'
  | 'too_many_redirects'
  | 'http_error';

/** Outcome of one fetch: the body of a 2xx answer, or why there is none. Never thrown. */
export type HttpResult =
  | {
      ok: true;
      status: number;
      body: string;
      url: string;
      contentType: string | undefined;
      redirects: number;
      /** Smallest DNS TTL of the hosts this answer came through, when the resolver knew it. */
      dnsTtlS?: number;
      /** With `redirect: 'manual'`: the resolved target of a 3xx answer (its body is dropped). */
      location?: string;
      /** With `raw: true`: the body's exact bytes (e.g. for a digest; `body` is their lossy UTF-8 decoding). */
      bytes?: Buffer;
    }
  | { ok: false; code: HttpErrorCode; message: string; url: string; status?: number };

/** Options of the HTTP client. */
export interface HttpClientOptions {
  network: Network;
  /** Total time of one fetch, redirects and body included (HTTP_TIMEOUT_MS). */
  timeoutMs: number;
  /** Body cap in bytes, enforced while streaming (default 256 KiB); a fetch may ask for less (FetchOptions.maxBytes). */
  maxBytes?: number;
  /** Redirects followed at most (default 3). */
  maxRedirects?: number;
  /** Ports a URL may name; default 80 and 443 (a redirect must not turn the service into a port scanner). */
  allowedPorts?: readonly number[];
  /** Extra trusted CA certificates (tests). Production leaves it unset: the system store plus NODE_EXTRA_CA_CERTS. */
  ca?: string | Buffer | (string | Buffer)[];
  userAgent?: string;
}

/** Options of one fetch. */
export interface FetchOptions {
  signal?: AbortSignal;
  /** Accept header value. */
  accept?: string;
  /**
   * `follow` (default): checked redirects are followed. `manual`: a 3xx is the answer, with its
   * `location` resolved against the URL (e.g. RFC 8620 §2.2: the redirect of /.well-known/jmap is what is wanted).
   */
  redirect?: 'follow' | 'manual';
  /** Also return the body's exact bytes as `bytes` (integrity checks must not hash a re-encoding). */
  raw?: boolean;
  /**
   * Body cap of this fetch in bytes, within the client's own cap (never above it): each document
   * reader asks for what its documents need (e.g. DOCUMENT_MAX_BYTES), enforced while streaming.
   */
  maxBytes?: number;
}

/** Options of one request: a fetch plus its method and body. */
export interface RequestOptions extends FetchOptions {
  method: 'GET' | 'POST';
  /** Request body (POST); sent with `contentType`. */
  body?: string;
  contentType?: string;
}

/** Raised inside the connector when a host resolves to a refused address; never leaves this module. */
class LookupRefused extends Error {
  constructor(
    readonly code: 'EADDRBLOCKED' | 'EDNSFAILED' | 'EDNSNOTFOUND',
    message: string,
  ) {
    super(message);
  }
}

/** One fetch in flight: its options, body cap, dispatcher, and the caller's signal joined with the deadline. */
interface FetchContext {
  options: RequestOptions;
  maxBytes: number;
  agent: Agent;
  signal: AbortSignal;
  deadline: AbortSignal;
}

/** One request of a fetch's redirect chain: a 301/302/303 turns a POST into a GET without its body. */
interface Hop {
  url: string;
  method: RequestOptions['method'];
  body: string | undefined;
}

const DEFAULT_MAX_BYTES = 256 * 1024;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const TLS_ERROR = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|HOSTNAME_MISMATCH|ERR_CERT)/;

/**
 * Fetches small documents (autoconfig XML, ISPDB) from URLs named by untrusted input.
 * Security: every connection resolves through the service's DnsResolver and clears every address
 * with the AddressPolicy inside the connector's `lookup`, so the socket connects to exactly the
 * addresses that were checked (no second resolution, so DNS rebinding cannot swap one in); IP-literal
 * URLs, which skip `lookup`, are checked before the request. Certificates are validated, redirects are
 * re-checked and never go from https to http, bodies are capped while streaming, compressed bodies
 * are refused, and one total timeout covers headers, redirects and a slow-drip body.
 */
export class HttpClient {
  readonly #network: Network;
  readonly #connect: buildConnector.connector;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;
  readonly #maxRedirects: number;
  readonly #allowedPorts: Set<number>;
  readonly #userAgent: string;
  /** Last DNS TTL seen per host (bounded), so an answer can say how long its addresses were valid. */
  readonly #ttls = new Map<string, number>();

  constructor(options: HttpClientOptions) {
    this.#network = options.network;
    this.#timeoutMs = options.timeoutMs;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#maxRedirects = options.maxRedirects ?? 3;
    this.#allowedPorts = new Set(options.allowedPorts ?? [80, 443]);
    this.#userAgent = options.userAgent ?? 'mailsettings/0.1 (+autoconfig lookup)';
    this.#connect = buildConnector({
      timeout: options.timeoutMs,
      rejectUnauthorized: true,
      lookup: this.#lookup,
      // One TLS context for every connection: given CA options instead, Node builds a new context
      // per connection, which cost about a quarter of a cold discovery's CPU (npm run bench:discovery).
      secureContext: tls.createSecureContext(options.ca ? { ca: options.ca } : {}),
    } as buildConnector.BuildOptions);
  }

  /**
   * One dispatcher per fetch (redirects included) whose sockets are all destroyed when the fetch
   * ends or is aborted: undici leaves a request that waits for a connection (e.g. a TLS handshake
   * that never completes) pending until its connect timeout, and an aborted lookup must release
   * its upstream connections at once.
   */
  #dispatcher(maxBytes: number): { agent: Agent; kill: () => void } {
    const sockets = new Set<Socket>();
    const connect: buildConnector.connector = (options, callback) => {
      // undici's connector returns the socket it opens (lib/core/connect.js) though its type says void.
      const socket = this.#connect(options, callback) as unknown as Socket;
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      return socket;
    };
    const agent = new Agent({
      connect,
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
      connections: 1,
      maxResponseSize: maxBytes + 1,
    });
    const kill = () => {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      agent.destroy().catch(() => {});
    };
    return { agent, kill };
  }

  /** Node's `lookup` contract, answered by the service resolver and the address policy only. */
  readonly #lookup = (
    hostname: string,
    options: LookupOneOptions | LookupAllOptions | number,
    callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
  ): void => {
    const all = typeof options === 'object' && options !== null && (options as LookupAllOptions).all === true;
    const family = typeof options === 'number' ? options : (options as LookupOneOptions | undefined)?.family;
    this.#network.resolveTarget(hostname).then(
      (target) => {
        if (!target.ok) {
          const code = target.code === 'forbidden_target' ? 'EADDRBLOCKED' : target.dnsKind === 'not-found' ? 'EDNSNOTFOUND' : 'EDNSFAILED';
          callback(new LookupRefused(code, target.message), all ? [] : '', 0);
          return;
        }
        if (target.ttlS !== undefined) {
          if (this.#ttls.size >= 1000) this.#ttls.clear();
          this.#ttls.set(hostname.toLowerCase(), target.ttlS);
        }
        let entries = target.addresses.map((address) => ({ address, family: isIP(address) }));
        const wanted = family === 4 || family === 6 ? entries.filter((entry) => entry.family === family) : entries;
        if (wanted.length > 0) entries = wanted;
        if (all) callback(null, entries);
        else callback(null, entries[0]?.address ?? '', entries[0]?.family ?? 4);
      },
      (error: unknown) => callback(new LookupRefused('EDNSFAILED', String(error)), all ? [] : '', 0),
    );
  };

  /** GETs a URL, following at most three checked redirects; the result is a value, never thrown. */
  get(url: string, options: FetchOptions = {}): Promise<HttpResult> {
    return this.request(url, { ...options, method: 'GET' });
  }

  /**
   * POSTs a body (e.g. an Autodiscover request). Redirects follow the fetch standard: 307/308 repeat
   * the POST with its body, 301/302/303 continue as a GET without it (as a browser-based client does).
   */
  post(url: string, body: string, options: FetchOptions & { contentType: string }): Promise<HttpResult> {
    return this.request(url, { ...options, method: 'POST', body });
  }

  /** One fetch with every limit of this client; the result is a value, never thrown. */
  async request(url: string, options: RequestOptions): Promise<HttpResult> {
    // A referenced timer (AbortSignal.timeout is unref'd), cleared when the fetch ends.
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(new Error('fetch timeout')), this.#timeoutMs);
    const deadline = timer.signal;
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const maxBytes = Math.min(this.#maxBytes, options.maxBytes ?? Infinity);
    const { agent, kill } = this.#dispatcher(maxBytes);
    signal.addEventListener('abort', kill, { once: true });
    try {
      if (signal.aborted) return { ...this.#failure(new Error('aborted'), signal, deadline, maxBytes), url };
      return await this.#send(url, { options, maxBytes, agent, signal, deadline });
    } finally {
      clearTimeout(timeout);
      signal.removeEventListener('abort', kill);
      kill();
    }
  }

  /** Sends the request and each checked redirect in turn, up to the final answer. */
  async #send(url: string, context: FetchContext): Promise<HttpResult> {
    let hop: Hop = { url, method: context.options.method, body: context.options.body };
    const hosts: string[] = [];
    for (let redirects = 0; ; redirects += 1) {
      const checked = this.#checkUrl(hop.url);
      if (!checked.ok) return { ...checked, url: hop.url };
      hosts.push(checked.url.hostname.toLowerCase());
      let response: Dispatcher.ResponseData;
      try {
        response = await this.#exchange(checked.url, hop, context);
      } catch (error) {
        return { ...this.#failure(error, context.signal, context.deadline, context.maxBytes), url: hop.url };
      }
      if (!REDIRECT_STATUSES.has(response.statusCode)) return this.#answer(response, hop.url, redirects, hosts, context);
      const next = this.#redirect(response, checked.url, hop, redirects, context.options.redirect);
      if ('ok' in next) return next;
      hop = next;
    }
  }

  /** One request of a fetch through its dispatcher; a response that arrives after an abort is dropped. */
  #exchange(url: URL, hop: Hop, context: FetchContext): Promise<Dispatcher.ResponseData> {
    return untilAborted(request(url, {
      method: hop.method,
      dispatcher: context.agent,
      signal: context.signal,
      headers: {
        accept: context.options.accept ?? 'application/xml, text/xml;q=0.9, */*;q=0.1',
        'accept-encoding': 'identity',
        'user-agent': this.#userAgent,
        ...(hop.body !== undefined ? { 'content-type': context.options.contentType ?? 'text/plain; charset=utf-8' } : {}),
      },
      ...(hop.body !== undefined ? { body: hop.body } : {}),
    }), context.signal, { onLate: discardValue });
  }

  /** Where a 3xx answer leads: the next hop, or the answer itself (`redirect: 'manual'`), or why it is refused. */
  #redirect(response: Dispatcher.ResponseData, from: URL, hop: Hop, redirects: number, mode: FetchOptions['redirect']): Hop | HttpResult {
    const { statusCode } = response;
    discard(response.body);
    const location = header(response.headers, 'location');
    if (!location) return { ok: false, code: 'http_error', status: statusCode, message: `redirect ${statusCode} without Location`, url: hop.url };
    let next: URL;
    try {
      next = new URL(location, from);
    } catch {
      return { ok: false, code: 'invalid_url', message: 'redirect to an invalid URL', url: hop.url };
    }
    if (mode === 'manual') {
      return { ok: true, status: statusCode, body: '', url: hop.url, contentType: undefined, redirects, location: next.href };
    }
    if (redirects >= this.#maxRedirects) {
      return { ok: false, code: 'too_many_redirects', message: `more than ${this.#maxRedirects} redirects`, url: hop.url };
    }
    if (from.protocol === 'https:' && next.protocol !== 'https:') {
      return { ok: false, code: 'redirect_refused', message: `refused redirect from https to ${next.protocol}`, url: hop.url };
    }
    return statusCode === 307 || statusCode === 308 ? { ...hop, url: next.href } : { url: next.href, method: 'GET', body: undefined };
  }

  /** The result of a final (non-redirect) answer: a 2xx body within the caps, or why there is none. */
  async #answer(response: Dispatcher.ResponseData, url: string, redirects: number, hosts: readonly string[], context: FetchContext): Promise<HttpResult> {
    const { statusCode, headers, body } = response;
    if (statusCode < 200 || statusCode > 299) {
      discard(body);
      return { ok: false, code: 'http_error', status: statusCode, message: `HTTP ${statusCode}`, url };
    }
    const encoding = header(headers, 'content-encoding');
    if (encoding && encoding.trim().toLowerCase() !== 'identity') {
      // Security: a compressed body passes any compressed-size cap and then explodes (gzip bomb).
      discard(body);
      return { ok: false, code: 'encoding_refused', message: `content-encoding ${encoding.slice(0, 40)} refused`, url };
    }
    const length = Number(header(headers, 'content-length') ?? NaN);
    if (Number.isFinite(length) && length > context.maxBytes) {
      discard(body);
      return { ok: false, code: 'too_large', message: `body of ${length} bytes exceeds ${context.maxBytes}`, url };
    }
    const read = await this.#readBody(body, context.maxBytes, context.signal, context.deadline);
    if (!read.ok) return { ...read, url };
    const result: HttpResult = { ok: true, status: statusCode, body: read.text, url, contentType: header(headers, 'content-type'), redirects };
    if (context.options.raw) result.bytes = read.bytes;
    const ttls = hosts.flatMap((host) => {
      const ttl = this.#ttls.get(host);
      return ttl === undefined ? [] : [ttl];
    });
    if (ttls.length > 0) result.dnsTtlS = Math.min(...ttls);
    return result;
  }

  /** Streams the body, stopping as soon as it passes the cap. */
  async #readBody(
    body: Dispatcher.ResponseData['body'],
    maxBytes: number,
    signal: AbortSignal,
    deadline: AbortSignal,
  ): Promise<{ ok: true; text: string; bytes: Buffer } | { ok: false; code: HttpErrorCode; message: string }> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > maxBytes) {
          discard(body);
          return { ok: false, code: 'too_large', message: `body exceeds ${maxBytes} bytes` };
        }
        chunks.push(chunk);
      }
    } catch (error) {
      discard(body);
      return this.#failure(error, signal, deadline, maxBytes);
    }
    const bytes = Buffer.concat(chunks);
    return { ok: true, text: bytes.toString('utf8'), bytes };
  }

  /** Security: scheme, credentials, port and IP literals are checked before anything connects. */
  #checkUrl(text: string): { ok: true; url: URL } | { ok: false; code: HttpErrorCode; message: string } {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      return { ok: false, code: 'invalid_url', message: 'not a URL' };
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, code: 'invalid_url', message: `scheme ${url.protocol} refused` };
    if (url.username || url.password) return { ok: false, code: 'invalid_url', message: 'URLs with credentials are refused' };
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    if (!this.#allowedPorts.has(port)) return { ok: false, code: 'blocked', message: `port ${port} is not allowed` };
    const host = url.hostname.replace(/^\[|\]$/g, '');
    // An IP literal never reaches `lookup`, so the policy is applied here (URL has already
    // normalised odd IPv4 notations such as 0x7f.1 to dotted quads).
    if (isIP(host)) {
      const verdict = this.#network.policy.check(host);
      if (!verdict.allowed) {
        this.#network.logRefusal(host, host, verdict.reason);
        return { ok: false, code: 'blocked', message: 'the URL names a refused address' };
      }
    }
    return { ok: true, url };
  }

  #failure(error: unknown, signal: AbortSignal, deadline: AbortSignal, maxBytes: number): { ok: false; code: HttpErrorCode; message: string } {
    const code = errorCode(error);
    if (code === 'EADDRBLOCKED') return { ok: false, code: 'blocked', message: (error as Error).message };
    if (code === 'EDNSNOTFOUND') return { ok: false, code: 'no_such_host', message: (error as Error).message };
    if (code === 'EDNSFAILED') return { ok: false, code: 'dns_failed', message: (error as Error).message };
    if (deadline.aborted) return { ok: false, code: 'timeout', message: `no complete answer within ${this.#timeoutMs} ms` };
    if (signal.aborted) return { ok: false, code: 'aborted', message: 'the fetch was cancelled' };
    if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return { ok: false, code: 'too_large', message: `body exceeds ${maxBytes} bytes` };
    if (code.startsWith('UND_ERR_') && /TIMEOUT/.test(code)) return { ok: false, code: 'timeout', message: code };
    if (TLS_ERROR.test(code)) return { ok: false, code: 'tls_error', message: code };
    return { ok: false, code: 'connect_failed', message: code || String(error) };
  }

  /** Nothing is pooled between fetches; kept so owners can close the client uniformly. */
  async close(): Promise<void> {}
}

/** A response that arrived after its fetch was abandoned: drop its body. */
function discardValue(value: unknown): void {
  const body = (value as { body?: Dispatcher.ResponseData['body'] } | undefined)?.body;
  if (body) discard(body);
}

function errorCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code !== 'UND_ERR_SOCKET' && code !== 'UND_ERR_ABORTED') return code;
    current = (current as { cause?: unknown }).cause;
  }
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : '';
}

/** Drops a body we will not read; the destroy error (undici's "Request aborted") is expected, not a crash. */
function discard(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
