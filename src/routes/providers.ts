import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError } from '../api/errors.js';
import { errorBodySchema } from '../api/schemas.js';
import type { ProviderDb } from '../provider-db/provider-db.js';
import { providerSchema } from '../provider-db/schema.js';

/** One row of GET /v1/providers. */
export const providerSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  domainCount: z.number().int(),
});

/** GET /v1/providers and GET /v1/providers/{id}. */
export const providerRoutes: FastifyPluginAsync<{ providerDb: ProviderDb }> = async (app, { providerDb }) => {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get(
    '/v1/providers',
    {
      schema: {
        summary: 'List the providers of the embedded database',
        tags: ['providers'],
        response: { 200: z.object({ providers: z.array(providerSummarySchema), count: z.number().int() }) },
      },
    },
    async (_request, reply) => {
      const providers = providerDb.all().map((provider) => ({
        id: provider.id,
        name: provider.name,
        domainCount: provider.domains.length,
      }));
      reply.header('cache-control', 'public, max-age=300');
      return { providers, count: providers.length };
    },
  );
  typed.get(
    '/v1/providers/:id',
    {
      schema: {
        summary: 'One provider entry in full',
        tags: ['providers'],
        params: z.object({ id: z.string().max(100) }),
        response: { 200: providerSchema, 404: errorBodySchema },
      },
    },
    async (request, reply) => {
      const provider = providerDb.byId(request.params.id);
      if (!provider) throw new ApiError('not_found', `no provider with id ${request.params.id}`);
      reply.header('cache-control', 'public, max-age=300');
      return provider;
    },
  );
};
