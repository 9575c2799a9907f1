import { retryAfterSeconds } from '../api/errors.js';
import { CHECK_PORTS, type LookupResult, type Server } from '../api/schemas.js';
import type { WindowCounter } from '../probes/budgets.js';
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
  // Security: servers can come from autoconfig documents written by strangers (any port 1-65535);
  // like /v1/check, only mail ports are ever connected to (not a port scanner).
  if (!(CHECK_PORTS as readonly number[]).includes(server.port)) {
    server.check = refusal(server, 'forbidden_target', `port ${server.port} is not one of the checked mail ports (${CHECK_PORTS.join(', ')})`);
    return;
  }
  // Security: each check counts against the client's live-check budget, like a /v1/check request,
  // so check=true is no way around it. Taken synchronously in server order, so when the budget runs
  // out mid-answer the best-ranked servers were the ones checked and the rest say rate_limited (the
  // answer itself is still given).
  const taken = checks.clientChecks.take(options.client);
  if (!taken.ok) {
    server.check = refusal(server, 'rate_limited', `too many live checks from this client; retry in ${retryAfterSeconds(taken.retryAfterMs)} s`);
    return;
  }
  server.check = await checks.checker.check(
    { host: server.host, port: server.port, protocol: server.protocol, security: server.security },
    { signal: options.signal, fresh: options.fresh },
  );
}
