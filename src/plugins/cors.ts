import fastifyCors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

/** CORS_ORIGINS as @fastify/cors wants it: `*` for any origin, else the exact origins listed. */
export function parseCorsOrigins(value: string): '*' | string[] {
  const origins = value
    .split(',')
    .map((origin) => origin.trim().replace(/\/+$/, ''))
    .filter((origin) => origin.length > 0);
  if (origins.length === 0 || origins.includes('*')) return '*';
  return origins;
}

/** Lets browsers on the listed origins call the read-only API (the widget on an ISP's page). */
export async function registerCors(app: FastifyInstance, corsOrigins: string): Promise<void> {
  const origins = parseCorsOrigins(corsOrigins);
  await app.register(fastifyCors, {
    origin: origins === '*' ? '*' : origins,
    methods: ['GET', 'HEAD', 'OPTIONS'],
    credentials: false,
    // The widget reads Retry-After to tell a rate-limited customer how long to wait.
    // One string, not an array: @fastify/cors joins an array again on every response.
    exposedHeaders: 'Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset',
    maxAge: 600,
    strictPreflight: false,
  });
}
