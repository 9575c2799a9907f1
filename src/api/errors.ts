import type { ErrorBody, ErrorCode } from './schemas.js';

/** Details an expected failure may carry besides its code and message. */
export interface ApiErrorDetails {
  /** How long the client should wait before trying again (sent as Retry-After, whole seconds). */
  retryAfterMs?: number;
  /** Extra top-level body fields beside `error` (e.g. `sources` of a lookup that found nothing). */
  extra?: Record<string, unknown>;
}

/**
 * An expected failure with a stable code. The core and the routes raise it; only the HTTP edge
 * (plugins/error-handler.ts, which holds the one code → status table) turns it into a response.
 */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ApiErrorDetails = {},
  ) {
    super(message);
  }
}

/** Too much work is under way server-wide right now: try again shortly (503 `busy`). */
export class BusyError extends ApiError {
  override name = 'BusyError';
  constructor(message: string, retryAfterMs: number) {
    super('busy', message, { retryAfterMs });
  }
}

/** This client has used up one of its budgets (429 `rate_limited`). */
export class RateLimitedError extends ApiError {
  override name = 'RateLimitedError';
  constructor(message: string, retryAfterMs: number) {
    super('rate_limited', message, { retryAfterMs });
  }
}

/** Whole seconds (at least 1) to tell a client to wait, for a Retry-After header. */
export function retryAfterSeconds(ms: number): string {
  return String(Math.max(1, Math.ceil(ms / 1000)));
}

/** Builds an error body. */
export function errorBody(code: ErrorCode, message: string): ErrorBody {
  return { error: { code, message } };
}
