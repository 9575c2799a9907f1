import type { LookupResult, Server } from '../api/schemas.js';
import type { WindowCounter } from '../probes/budgets.js';
import { budgetedCheck } from '../probes/budgeted-check.js';
import { refusal } from '../probes/live-checker.js';
import type { ServerChecker } from '../probes/types.js';

/** Most servers one `lookup?check=true` checks live; the rest get a `busy` check without a connection. */
export const MAX_CHECKS_PER_LOOKUP = 12;

/** What live-checking an answer needs: the checker and the per-client budget it shares with /v1/check. */
export interface AnswerChecks {
  checker: ServerChecker;
  /** Live checks per client (CHECK_RATE_LIMIT_MAX per window); each check of an answer takes one. */
  clientChecks: WindowCounter;
}

/** Who asks, and how: the client's key (clientKey) is charged for each check. */
export interface CheckAnswerOptions {
  client: string;
  signal?: AbortSignal;
  fresh?: boolean;
}

/**
 * Live-checks the servers of an answer and puts each check on its server. Incoming best first, then
 * outgoing best first, so the cap keeps the servers people use.
 */
export async function checkAnswer(result: LookupResult, checks: AnswerChecks, options: CheckAnswerOptions): Promise<void> {
  const servers = [...result.incoming, ...result.outgoing];
  await Promise.all(servers.map((server, index) => checkOne(server, index, checks, options)));
}

async function checkOne(server: Server, index: number, checks: AnswerChecks, options: CheckAnswerOptions): Promise<void> {
  // Security: an autoconfig document may list any number of servers; one request checks at most
  // MAX_CHECKS_PER_LOOKUP of them (the best-ranked), so it cannot fan out widely.
  if (index >= MAX_CHECKS_PER_LOOKUP) {
    server.check = refusal(server, 'busy', `only the first ${MAX_CHECKS_PER_LOOKUP} servers of an answer are checked`);
    return;
  }
  // Mail ports only, and one from the client's live-check budget per check, taken synchronously in
  // server order (see budgetedCheck): when the budget runs out mid-answer, the best-ranked servers
  // were the ones checked and the rest say rate_limited (the answer itself is still given).
  server.check = await budgetedCheck(server, { checker: checks.checker, clientChecks: checks.clientChecks, client: options.client, signal: options.signal, fresh: options.fresh });
}
