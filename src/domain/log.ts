import type { Logger } from 'pino';

/** The logging the core needs; both pino and Fastify's logger satisfy it. */
export type Log = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
