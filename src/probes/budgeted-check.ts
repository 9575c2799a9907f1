import { retryAfterSeconds } from '../api/errors.js';
import { CHECK_PORTS, type Check } from '../api/schemas.js';
import type { WindowCounter } from './budgets.js';
import { refusal } from './live-checker.js';
import type { CheckTarget, ServerChecker } from './types.js';

/** What a live check charged to one client needs. */
export interface BudgetedCheckOptions {
  checker: ServerChecker;
  /** Live checks per client (CHECK_RATE_LIMIT_MAX per window), shared by every route that checks. */
  clientChecks: WindowCounter;
  /** clientKey of the requester. */
  client: string;
  signal?: AbortSignal;
  fresh?: boolean;
}

/**
 * One live check of a server taken from a document or record (lookup?check=true, audits), charged
 * to the client. Security: such servers come from documents written by strangers (any port
 * 1-65535), so, as for /v1/check, only the mail ports are ever connected to (not a port scanner);
 * and each check takes one from the client's live-check budget, so no route is a way around it.
 * The budget is taken before any other await (in memory synchronously; with a fleet, Redis answers
 * a connection's commands in order): callers that start their checks in rank order get the
 * best-ranked servers checked when the budget runs out, the rest `rate_limited`.
 */
export async function budgetedCheck(target: CheckTarget, options: BudgetedCheckOptions): Promise<Check> {
  if (!(CHECK_PORTS as readonly number[]).includes(target.port)) {
    return refusal(target, 'forbidden_target', `port ${target.port} is not one of the checked mail ports (${CHECK_PORTS.join(', ')})`);
  }
  const taken = await options.clientChecks.take(options.client);
  if (!taken.ok) return refusal(target, 'rate_limited', `too many live checks from this client; retry in ${retryAfterSeconds(taken.retryAfterMs)} s`);
  return options.checker.check(
    { host: target.host, port: target.port, protocol: target.protocol, security: target.security },
    { ...(options.signal ? { signal: options.signal } : {}), fresh: options.fresh ?? false },
  );
}
