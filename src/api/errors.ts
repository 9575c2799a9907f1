import type { ErrorBody, ErrorCode } from './schemas.js';

/** HTTP status of each stable API error code (the one list of codes lives in schemas.ts). */
export const ERROR_STATUS: Record<ErrorCode, number> = {
  invalid_input: 400,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  busy: 503,
  timeout: 504,
};

/** An expected API failure: routes throw it, the error handler renders it with its stable code. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Extra top-level body fields beside `error` (e.g. `sources` of a lookup that found nothing). */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
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
