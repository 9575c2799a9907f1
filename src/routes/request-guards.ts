import type { FastifyReply, onRequestHookHandler } from 'fastify';
import { ApiError, retryAfterSeconds } from '../api/errors.js';
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
    const wait = retryAfterSeconds(taken.retryAfterMs);
    done(new ApiError('rate_limited', `too many live checks from this client; retry in ${wait} s`, { 'retry-after': wait }));
  };
}

/** A signal that fires when the client goes away before its answer was sent; `dispose` stops watching. */
export function abortWhenClientLeaves(reply: FastifyReply): { signal: AbortSignal; dispose: () => void } {
  const gone = new AbortController();
  const onClose = () => {
    if (!reply.sent) gone.abort(new Error('client disconnected'));
  };
  reply.raw.once('close', onClose);
  return { signal: gone.signal, dispose: () => reply.raw.removeListener('close', onClose) };
}
