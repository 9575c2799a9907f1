import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, BusyError, RateLimitedError } from '../api/errors.js';
import { normaliseDomain } from '../api/input.js';
import { CHECK_PORTS, checkSchema, errorBodySchema, protocolSchema, queryBoolean, securitySchema } from '../api/schemas.js';
import type { WindowCounter } from '../probes/budgets.js';
import type { ServerChecker } from '../probes/types.js';
import { untilClientLeaves } from './client-gone.js';
import { liveCheckBudget } from './request-guards.js';

const checkQuerySchema = z.object({
  host: z.string().min(1).max(253).describe('Host name of the mail server (IP literals are refused)'),
  port: z.coerce
    .number()
    .int()
    .refine((port) => (CHECK_PORTS as readonly number[]).includes(port), { message: `port must be one of ${CHECK_PORTS.join(', ')}` })
    .describe(`One of ${CHECK_PORTS.join(', ')}`),
  protocol: protocolSchema,
  security: securitySchema,
  fresh: queryBoolean.describe('Bypass the short result cache (support staff)'),
});

/** Options of the check route. */
export interface CheckRoutesOptions {
  checker: ServerChecker;
  /** Live checks per client (CHECK_RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_MS), shared with lookup?check=true. */
  clientChecks: WindowCounter;
}

/** GET /v1/check: a credential-free live check of one mail server. */
export const checkRoutes: FastifyPluginAsync<CheckRoutesOptions> = async (app, options) => {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/check',
    {
      // Security: every check opens a connection chosen by the caller, so each request (valid or
      // not, as it is counted before validation) takes one from the client's live-check budget,
      // the same budget every check of lookup?check=true takes from.
      onRequest: liveCheckBudget(options.clientChecks),
      schema: {
        summary: 'Check a mail server live, without credentials',
        description:
          'Connects to the server (through the service\'s resolver and address policy), runs TLS or STARTTLS, reads the greeting and capabilities, and logs out. Never authenticates. A server that cannot be checked is still a 200 with `ok: false` and a stable `error.code`.',
        tags: ['check'],
        querystring: checkQuerySchema,
        response: { 200: checkSchema, 400: errorBodySchema, 429: errorBodySchema, 503: errorBodySchema },
      },
    },
    async (request, reply) => {
      // Security: the host is untrusted; only public-looking DNS names pass (no IP literals, no localhost).
      const host = normaliseDomain(request.query.host);
      if (!host.ok) throw new ApiError('invalid_input', `host: ${host.message}`);
      const check = await untilClientLeaves(request, reply, (signal) =>
        options.checker.check(
          { host: host.domain, port: request.query.port, protocol: request.query.protocol, security: request.query.security },
          { signal, fresh: request.query.fresh },
        ),
      );
      request.log.info({ host: check.host, port: check.port, ok: check.ok, code: check.error?.code, ms: check.ms.total }, 'check');
      if (check.error?.code === 'rate_limited') throw new RateLimitedError(check.error.message, options.clientChecks.windowMs);
      if (check.error?.code === 'busy') throw new BusyError(check.error.message, 5000);
      return check;
    },
  );
};
