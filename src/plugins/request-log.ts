import fp from 'fastify-plugin';
import pino from 'pino';
import type { Log } from '../logging/log.js';

/** Fields a route adds to its request's log line; `route` spares the hot path Fastify's routeOptions getter. */
export interface RequestLogFields {
  route?: string;
  domain: string;
  outcome: 'found' | 'not-found';
  cached: boolean;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** What a route adds to the one log line of its request (privacy: never an address). */
    logFields: RequestLogFields | null;
  }
}

/** The one line of a request, as logged with its `reqId` (given, or bound by request.log). */
export interface RequestLine {
  reqId: string | undefined;
  method: string;
  route: string;
  status: number;
  ms: number;
  domain: string | undefined;
  outcome: RequestLogFields['outcome'] | undefined;
  cached: boolean | undefined;
}

/**
 * The fields of a request's line, in one order for both writers: the response hook below (through
 * request.log, whose bindings carry `reqId`) and the lookup fast lane (given `reqId`: it logs
 * through the root logger). Privacy: never the URL or an address.
 */
export function requestLine(reqId: string | undefined, method: string, route: string, status: number, ms: number, fields: RequestLogFields | null): RequestLine {
  return { reqId, method, route, status, ms: Math.round(ms), domain: fields?.domain, outcome: fields?.outcome, cached: fields?.cached };
}

const { streamSym, lsCacheSym, timeSym, chindingsSym, endSym, formattersSym, mixinSym, stringifiersSym, serializersSym, hooksSym, messageKeySym, nestedKeySym, needsMetadataGsym } =
  pino.symbols;
// Exported by pino but missing from its type declarations.
const msgPrefixSym: symbol | undefined = Object.getOwnPropertyDescriptor(pino.symbols, 'msgPrefixSym')?.value;

/** The parts of a pino logger a line is made of (pino.symbols), when nothing else shapes a line. */
interface PlainPino {
  stream: { write(line: string): unknown };
  /** `{"level":30` as this logger writes it (level formatter applied). */
  levelPrefix: string;
  time: () => string;
  /** The bindings (pid, hostname, ...), as written after the time. */
  bindings: string;
  end: string;
}

/** The line-making parts of `log` if it is a pino logger that writes the fields of a line as given, else null. */
function plainPino(log: object): PlainPino | null {
  const logger = log as Record<symbol, unknown>;
  const stream = logger[streamSym] as PlainPino['stream'] & Record<symbol, unknown> | undefined;
  const formatters = logger[formattersSym] as { log?: unknown } | undefined;
  const hooks = logger[hooksSym] as { logMethod?: unknown; streamWrite?: unknown } | undefined;
  const stringifiers = logger[stringifiersSym] as object | undefined;
  const serializers = (logger[serializersSym] ?? {}) as Record<string, unknown>;
  const levelCache = logger[lsCacheSym] as Record<number, string> | undefined;
  const plain =
    typeof stream?.write === 'function' &&
    stream[needsMetadataGsym] !== true &&
    formatters !== undefined && formatters.log === undefined &&
    hooks !== undefined && hooks.logMethod === undefined && hooks.streamWrite === undefined &&
    stringifiers !== undefined && Object.keys(stringifiers).length === 0 &&
    !logger[mixinSym] && !logger[nestedKeySym] && msgPrefixSym !== undefined && !logger[msgPrefixSym] && logger[messageKeySym] === 'msg' &&
    LINE_KEYS.every((key) => serializers[key] === undefined) &&
    typeof levelCache?.[30] === 'string';
  if (!plain) return null;
  return {
    stream,
    levelPrefix: levelCache[30]!,
    time: (logger[timeSym] as () => string).bind(logger),
    bindings: String(logger[chindingsSym] ?? ''),
    end: String(logger[endSym]),
  };
}

/** A request line with every field known (the fast lane's: a found answer). */
export type CachedAnswerLine = { [K in keyof RequestLine]: Exclude<RequestLine[K], undefined> };

const LINE_KEYS: (keyof RequestLine | 'msg')[] = ['reqId', 'method', 'route', 'status', 'ms', 'domain', 'outcome', 'cached', 'msg'];

/**
 * Writes the request lines of the lookup fast lane (found, cached answers; `reqId` given). With a
 * plain pino logger (the service's own: no formatter, mixin, redaction, serializer or hook that
 * shapes a line) the line is written as pino writes it, from pino's own level prefix, time and
 * bindings, without pino's generic walk over the object (seen in the cached lookup's CPU
 * profile); any other logger gets `log.info`. test/routes/lookup-fast-lane.test.ts checks the two
 * paths' lines are alike, test/unit/request-line-writer.test.ts the bytes.
 */
export function requestLineWriter(log: Log): (line: CachedAnswerLine) => void {
  const pinoParts = plainPino(log);
  const logger = log as { levelVal?: number; levels?: { values?: Record<string, number> } };
  const info = logger.levels?.values?.info;
  if (pinoParts === null || info === undefined || logger.levelVal === undefined) return (line) => log.info(line, 'request');
  const { stream, levelPrefix, time, bindings, end } = pinoParts;
  // A lane's lines repeat their method, route and outcome, and often their domain: each is
  // quoted once per change of value rather than once per line.
  const [method, route, domain, outcome] = [lastQuoted(), lastQuoted(), lastQuoted(), lastQuoted()];
  return (line) => {
    // The logger's level as it is now (it can change while the service runs).
    if ((logger.levelVal ?? Infinity) > info) return;
    // The order and spelling of pino's own line.
    stream.write(
      `${levelPrefix}${time()}${bindings},"reqId":${jsonString(line.reqId)},"method":${method(line.method)},"route":${route(line.route)},` +
        `"status":${line.status},"ms":${line.ms},"domain":${domain(line.domain)},"outcome":${outcome(line.outcome)},"cached":${line.cached},"msg":"request"${end}`,
    );
  };
}

/** jsonString, remembering the last value it quoted (strings compare by content, so a changed value is always quoted anew). */
function lastQuoted(): (value: string) => string {
  let last: string | undefined;
  let quoted = '';
  return (value) => {
    if (value !== last) {
      quoted = jsonString(value);
      last = value;
    }
    return quoted;
  };
}

/** Characters a JSON string holds as they are: the values of a request line (ids, methods, routes, LDH domains) are made of them. */
const PLAIN_JSON = /^[\w.\/-]*$/;

/** A string as JSON: quoted as it is when nothing in it needs escaping, else by JSON.stringify. */
function jsonString(value: string): string {
  return PLAIN_JSON.test(value) ? `"${value}"` : JSON.stringify(value);
}

/**
 * One line per request: request id, method, route, status, ms (the lookup route adds domain,
 * outcome and cached). Fastify's own two lines per request are off (app.ts).
 */
export const requestLog = fp(
  async (app) => {
    app.decorateRequest('logFields', null);
    app.addHook('onResponse', function logRequest(request, reply, done) {
      const fields = request.logFields;
      const route = fields?.route ?? request.routeOptions.url ?? 'unknown';
      request.log.info(requestLine(undefined, request.method, route, reply.statusCode, reply.elapsedTime, fields), 'request');
      done();
    });
  },
  { name: 'request-log', fastify: '5.x' },
);
