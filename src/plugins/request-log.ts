import fp from 'fastify-plugin';

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
