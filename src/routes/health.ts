import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

const healthSchema = z.object({ status: z.enum(['ok', 'not-ready']) });

/** GET /health (liveness) and GET /ready (readiness: provider database loaded, not shutting down). */
export const healthRoutes: FastifyPluginAsync<{ isReady: () => boolean }> = async (app, { isReady }) => {
  const typed = app.withTypeProvider<ZodTypeProvider>();
  typed.get('/health', { schema: { summary: 'Liveness', tags: ['health'], response: { 200: healthSchema } } }, async () => ({
    status: 'ok' as const,
  }));
  typed.get(
    '/ready',
    { schema: { summary: 'Readiness', tags: ['health'], response: { 200: healthSchema, 503: healthSchema } } },
    async (_request, reply) => {
      if (!isReady()) return reply.code(503).send({ status: 'not-ready' });
      return { status: 'ok' as const };
    },
  );
};
