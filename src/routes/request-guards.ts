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
  return (request, _reply, done) => {
    const taken = clientChecks.take(clientKey(request.ip));
    if (taken.ok) return done();
    done(new RateLimitedError(`too many live checks from this client; retry in ${retryAfterSeconds(taken.retryAfterMs)} s`, taken.retryAfterMs));
  };
}
