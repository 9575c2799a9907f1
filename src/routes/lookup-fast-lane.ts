import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'fast-querystring';
import { parseLookupInput, type InputResult } from '../api/input.js';
import { memo } from '../cache/memo.js';
import type { Log } from '../logging/log.js';
import type { LookupService } from '../lookup/lookup-service.js';
import type { ResponseRecorder } from '../plugins/metrics.js';
import { requestLineWriter, type CachedAnswerLine } from '../plugins/request-log.js';
import { LOOKUP_ROUTE } from './lookup.js';

/** Node's request listener: what Fastify hands a server, and what the lane passes on. */
export type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/** What the lane answers with: the lookup cache, and what the Fastify path adds to every response. */
export interface FastLaneParts {
  lookup: LookupService;
  /** The CORS headers the cors plugin sends, as flat [name, value, …] pairs. */
  cors: (origin: string | undefined) => readonly string[];
  /** The app's root logger; the lane's lines name their request id themselves. */
  log: Log;
  /** The app's request-id generator, shared with Fastify (genReqId), so ids never repeat. */
  requestId: () => string;
  /** Response metrics; undefined with METRICS=false. */
  responses: ResponseRecorder | undefined;
}

/** The request target the lane looks at: the lookup route with a query. */
const LANE_PREFIX = `${LOOKUP_ROUTE}?`;

const JSON_TYPE = 'application/json; charset=utf-8';

/** Queries whose parsed input the lane remembers, and the longest it remembers (an address is at most 320 characters). */
const MEMO_MAX_ENTRIES = 1_024;
const MEMO_MAX_QUERY_LENGTH = 400;

/** The input of a plain `?domain=` or `?email=` query (the only ones the fast lane answers), else null. */
function plainQueryInput(query: Record<string, unknown>): InputResult | null {
  const keys = Object.keys(query);
  if (keys.length !== 1 || (keys[0] !== 'domain' && keys[0] !== 'email')) return null;
  const value = query[keys[0]];
  if (typeof value !== 'string') return null;
  return parseLookupInput(keys[0] === 'domain' ? { domain: value } : { email: value });
}

/** An answer as the lane sends it: its UTF-8 bytes, and its whole header list for each CORS answer. */
interface PreparedAnswer {
  bytes: Buffer;
  /**
   * Node's flat [name, value, …] header list for the given cors pairs (of which there is a fixed
   * few: corsHeaderPairs makes each once), made once and shared by every response of the answer:
   * Node's writeHead only reads a header list.
   */
  headers: (cors: readonly string[]) => string[];
}

/** An answer made ready to send: its bytes now, its header lists as they are asked for. */
function prepare(answer: object): PreparedAnswer {
  const bytes = Buffer.from(JSON.stringify(answer));
  const contentPairs = ['content-type', JSON_TYPE, 'content-length', String(bytes.length)];
  return { bytes, headers: memo((cors) => [...cors, ...contentPairs]) };
}

/**
 * The cached lookup, answered in front of Fastify. A plain `GET /v1/lookup?domain=` or `?email=`
 * whose domain is in this process's cache gets the same status, headers, body, log line and metrics
 * as through Fastify, without routing, request and reply objects, hooks and their response listeners
 * (most of what the cached lookup cost beyond a bare Fastify route: README, Performance). Everything else — another method,
 * another path, more parameters, invalid input, a cache miss, an app that is closing — goes
 * to Fastify untouched, so no rule of the API lives only here.
 *
 * What Fastify would have done for such a request, the lane does: the CORS headers (cors plugin),
 * the request line (request-log plugin), the response metrics (metrics plugin). Rate limits, the
 * discovery budget and load shedding never apply to a cached answer. Connection limits and timeouts
 * belong to the server, which both paths share. test/routes/lookup-fast-lane.test.ts compares the
 * two paths and fails when the lookup route gains a hook the lane does not know.
 */
export class LookupFastLane {
  #parts: FastLaneParts | null = null;
  #writeLine: (line: CachedAnswerLine) => void = () => {};
  #observe: (seconds: number) => void = () => {};
  /**
   * A domain's answer prepared once per answer object (a domain's cache hits share one object per
   * discovery, held as long as the cache holds the discovery; the WeakMap lets it go with it).
   * Bytes, not a string: the socket gets them as they are, with no concatenation to the header,
   * flattening or encoding per response; and the header list is made once, not per response.
   * (lookup-service.ts counts the bytes in the cache's byte bound.)
   */
  readonly #answers = memo(prepare, new WeakMap<object, PreparedAnswer>());
  /**
   * The input of recent plain queries (parsing is a pure function of the query string). Security:
   * bounded in entries and key length, and emptied when full, so a client sending ever new queries
   * costs at most the parsing it would cost anyway.
   */
  readonly #inputs = new Map<string, InputResult>();

  /** Starts answering (once the app's plugins and routes exist). */
  open(parts: FastLaneParts): void {
    this.#parts = parts;
    this.#writeLine = requestLineWriter(parts.log);
    // Every response the lane sends has the same labels: one series, found once.
    this.#observe = parts.responses?.series(LOOKUP_ROUTE, 'GET', 200, true) ?? (() => {});
  }

  /** Stops answering: from now on Fastify sees every request (closing: its 503s). */
  close(): void {
    this.#parts = null;
  }

  /** The server's request listener: the lane first, then `next` (Fastify) for what it does not answer. */
  listener(next: RequestListener): RequestListener {
    return (request, response) => {
      if (!this.#answer(request, response)) next(request, response);
    };
  }

  #answer(request: IncomingMessage, response: ServerResponse): boolean {
    const parts = this.#parts;
    // A GET's body, if any, is ignored, as Fastify ignores it.
    if (parts === null || request.method !== 'GET') return false;
    const url = request.url;
    if (url === undefined || !url.startsWith(LANE_PREFIX)) return false;
    const start = performance.now();
    const input = this.#input(url.slice(LANE_PREFIX.length));
    if (input === null || !input.ok) return false;
    const hit = parts.lookup.fromCache(input.subject);
    if (!hit?.found) return false;
    // An address gets its own answer object (usernames filled in) each time: nothing to memoise.
    const answer = input.subject.email === null ? this.#answers(hit.result) : prepare(hit.result);
    // Node takes the list as it is (no header object to build, nor to copy from).
    response.writeHead(200, answer.headers(parts.cors(request.headers.origin)));
    response.end(answer.bytes);
    // Logged once the response is handed to the socket, as Fastify's hook logs on `finish`: without
    // a listener per response (which is what this lane saves).
    const ms = performance.now() - start;
    // What fromCache answers is cached by definition.
    this.#writeLine({ reqId: parts.requestId(), method: 'GET', route: LOOKUP_ROUTE, status: 200, ms: Math.round(ms), domain: input.subject.domain, outcome: 'found', cached: true });
    this.#observe(ms / 1000);
    return true;
  }

  /** A plain query's input, else null. Parsed as Fastify parses it: app.ts gives Fastify this same parser, and the router splits the query off at this same first `?`. */
  #input(query: string): InputResult | null {
    const known = this.#inputs.get(query);
    if (known !== undefined) return known;
    const input = plainQueryInput(parseQuery(query));
    if (input === null || query.length > MEMO_MAX_QUERY_LENGTH) return input;
    if (this.#inputs.size >= MEMO_MAX_ENTRIES) this.#inputs.clear();
    this.#inputs.set(query, input);
    return input;
  }
}
