import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { auditResultSchema } from '../api/audit.js';
import { ApiError, BusyError, RateLimitedError } from '../api/errors.js';
import { parseLookupInput } from '../api/input.js';
import { errorBodySchema, queryBoolean } from '../api/schemas.js';
import type { AuditService } from '../lookup/audit.js';
import { clientKey } from '../net/client-key.js';
import type { WindowCounter } from '../probes/budgets.js';
import { untilClientLeaves } from './client-gone.js';
import { liveCheckBudget } from './request-guards.js';

const auditQuerySchema = z.object({
  domain: z.string().max(320).optional().describe('The mail domain to audit'),
  fresh: queryBoolean.describe('Run the audit again instead of reusing a recent one'),
});

const AUDIT_ROUTE = '/v1/audit';

/** Options of the audit route. */
export interface AuditRoutesOptions {
  audits: AuditService;
  /** Live checks per client (CHECK_RATE_LIMIT_MAX per window), shared with /v1/check and lookup?check=true. */
  clientChecks: WindowCounter;
}

/** GET /v1/audit: every publication method of a domain, each server checked live, and findings with fixes. */
export const auditRoutes: FastifyPluginAsync<AuditRoutesOptions> = async (app, options) => {
  app.withTypeProvider<ZodTypeProvider>().get(
    AUDIT_ROUTE,
    {
      // Security: an audit fans out into every source and a live check of every server, so each
      // request (valid or not, counted before validation, like /v1/check) takes one from the
      // client's live-check budget, and every check it runs takes one more.
      onRequest: liveCheckBudget(options.clientChecks),
      schema: {
        summary: 'Audit how a domain publishes its mail settings',
        description:
          'Runs every source to its end (no early stop), checks every distinct server live, and reports per publication method what it says and whether it agrees with the others, with findings (stable codes, a severity and a one-sentence fix). Counts against the live-check limits; cached like checks (`fresh=true` runs it again).',
        tags: ['audit'],
        querystring: auditQuerySchema,
        response: { 200: auditResultSchema, 400: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema },
      },
    },
    async (request, reply) => {
      const input = parseLookupInput({ domain: request.query.domain });
      if (!input.ok) throw new ApiError('invalid_input', request.query.domain === undefined ? 'give the query parameter domain' : input.message);
      const domain = input.subject.domain;
      const outcome = await untilClientLeaves(request, reply, (signal) =>
        options.audits.audit(domain, { client: clientKey(request.ip), signal, fresh: request.query.fresh }),
      );
      if (!outcome.ok) {
        if (outcome.code === 'rate_limited') throw new RateLimitedError(outcome.message, outcome.retryAfterMs);
        if (outcome.code === 'busy') throw new BusyError(outcome.message, outcome.retryAfterMs);
        throw new ApiError('timeout', outcome.message);
      }
      request.logFields = { route: AUDIT_ROUTE, domain, outcome: 'found', cached: outcome.audit.cached };
      return outcome.audit;
    },
  );
};
