import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError } from '../api/errors.js';
import { parseLookupInput, type LookupSubject } from '../api/input.js';
import { errorBodySchema, lookupNotFoundBodySchema, lookupResultSchema, queryBoolean } from '../api/schemas.js';
import { answerOf, type LookupOutcome, type LookupService } from '../lookup/lookup-service.js';
import { clientKey } from '../net/client-key.js';
import { untilClientLeaves } from './client-gone.js';

const lookupQuerySchema = z.object({
  email: z.string().max(320).optional().describe('An email address; give this or domain'),
  domain: z.string().max(320).optional().describe('A mail domain; give this or email'),
  check: queryBoolean.describe('Also run a live check of every returned server'),
  fresh: queryBoolean.describe('Bypass the cache (support staff)'),
});

/** Path of the lookup route (also its label in metrics and logs). */
export const LOOKUP_ROUTE = '/v1/lookup';

/** Options of the lookup route. */
export interface LookupRoutesOptions {
  lookup: LookupService;
}

function logFields(request: FastifyRequest, subject: LookupSubject, outcome: LookupOutcome): void {
  request.logFields = {
    route: LOOKUP_ROUTE,
    domain: subject.domain,
    outcome: outcome.found ? 'found' : 'not-found',
    cached: outcome.found ? outcome.result.cached : outcome.cached,
  };
}

/**
 * GET /v1/lookup: settings for an address or a domain. Needs the discovery-budget plugin. A cached
 * plain lookup on a real socket is answered before Fastify by the fast lane (lookup-fast-lane.ts).
 */
export const lookupRoutes: FastifyPluginAsync<LookupRoutesOptions> = async (app, { lookup }) => {
  app.withTypeProvider<ZodTypeProvider>().get(
    LOOKUP_ROUTE,
    {
      config: { discoveryBudget: true },
      // Runs before the discovery budget's hook (which reads discoveryRequest); bad input is refused
      // here, before it could cost the client anything.
      preHandler: function parseLookupQuery(request, _reply, done) {
        const input = parseLookupInput(request.query);
        if (!input.ok) return done(new ApiError('invalid_input', input.message));
        request.discoveryRequest = { input, fresh: request.query.fresh, check: request.query.check };
        done();
      },
      schema: {
        summary: 'Find mail settings for an email address or a domain',
        description:
          'Give exactly one of `email` or `domain`. Incoming servers come best first, IMAP recommended whenever an IMAP server exists.',
        tags: ['lookup'],
        querystring: lookupQuerySchema,
        response: { 200: lookupResultSchema, 400: errorBodySchema, 404: lookupNotFoundBodySchema, 429: errorBodySchema, 503: errorBodySchema },
      },
      // Bodies are built from typed objects, so the schema documents them (OpenAPI) and the tests
      // parse them with it; re-validating 2–3 KB through zod on every response is work for nothing.
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (request, reply) => {
      const asked = request.discoveryRequest;
      if (!asked?.input.ok) throw new Error('the preHandler hook parses the input first');
      const subject = asked.input.subject;
      const outcome = await untilClientLeaves(request, reply, (signal) =>
        lookup.lookup(subject, { signal, fresh: asked.fresh, check: asked.check, client: clientKey(request.ip) }),
      );
      logFields(request, subject, outcome);
      return answerOf(outcome, subject.domain);
    },
  );
};
