import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/** The API's version as published in the OpenAPI document. */
export const API_VERSION = '1.0.0';

/** OpenAPI 3.1 document generated from the routes' zod schemas, and Swagger UI at /docs. */
export const swagger = fp(
  async (app) => {
    await app.register(fastifySwagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Mail Settings Lookup',
          description:
            'Finds IMAP, POP3 and SMTP settings for an email address or domain, recommends IMAP, and checks servers live without credentials.',
          version: API_VERSION,
        },
        tags: [
          { name: 'lookup', description: 'Mail settings for an address or domain' },
          { name: 'check', description: 'Live, credential-free server checks' },
          { name: 'audit', description: 'How a domain publishes its settings, every method compared and checked (support desks, ISP staff)' },
          { name: 'providers', description: 'The embedded provider database' },
          { name: 'health', description: 'Liveness and readiness' },
          { name: 'serve', description: 'Client autoconfiguration this service publishes for its own domains (SERVE_DOMAINS)' },
        ],
      },
      transform: jsonSchemaTransform,
    });
    await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'swagger', fastify: '5.x' },
);
