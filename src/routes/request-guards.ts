import type { onRequestHookHandler } from 'fastify';
import { RateLimitedError, retryAfterSeconds } from '../api/errors.js';
import { clientKey } from '../net/client-key.js';
import type { WindowCounter } from '../probes/budgets.js';

/**
 * An onRequest hook that takes one from the client's live-check budget (CHECK_RATE_LIMIT_MAX per
 * window) or refuses the request with 429 `rate_limited` and a Retry-After. Security: routes that
 * connect to servers chosen by the caller count every request, valid or not (before validation).
 */
export function liveCheckBudget(clientChecks: WindowCounter): onRequestHookHandler {
  // Asynchronous: with REDIS_URL the count is the fleet's.
  return async (request) => {
    const taken = await clientChecks.take(clientKey(request.ip));
    if (!taken.ok) throw new RateLimitedError(`too many live checks from this client; retry in ${retryAfterSeconds(taken.retryAfterMs)} s`, taken.retryAfterMs);
  };
}
