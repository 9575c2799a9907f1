import fp from 'fastify-plugin';
import { CONNECTION_LOG_INTERVAL_MS, limitConnections } from '../net/connection-limits.js';

/** Options of the connection limits (MAX_CONNECTIONS, CONNECTIONS_PER_CLIENT_MAX). */
export interface ConnectionLimitsOptions {
  maxConnections: number;
  /** 0 = no per-client cap (behind a trusted proxy every connection comes from the proxy). */
  perClientMax: number;
  /** Interval of the refused-connections warning (default CONNECTION_LOG_INTERVAL_MS). */
  logIntervalMs?: number;
}

/**
 * Security: connections to the service itself are bounded server-wide (maxConnections: Node closes
 * the excess before reading it) and per client, so one client cannot hold every socket.
 */
export const connectionLimits = fp<ConnectionLimitsOptions>(
  async (app, options) => {
    app.server.maxConnections = options.maxConnections;
    const limits = limitConnections(app.server, {
      perClientMax: options.perClientMax,
      logIntervalMs: options.logIntervalMs ?? CONNECTION_LOG_INTERVAL_MS,
      log: app.log,
    });
    app.addHook('onClose', async () => limits.stop());
  },
  { name: 'connection-limits', fastify: '5.x' },
);
