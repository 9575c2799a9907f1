import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ApiError, errorBody, retryAfterSeconds } from '../api/errors.js';
import type { ErrorCode } from '../api/schemas.js';

/** HTTP status of each stable API error code: the one table (the codes themselves are listed in api/schemas.ts). */
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

function codeForStatus(status: number): ErrorCode {
  if (status === 404) return 'not_found';
  if (status === 405) return 'method_not_allowed';
  if (status === 413) return 'payload_too_large';
  if (status === 415) return 'unsupported_media_type';
  if (status === 429) return 'rate_limited';
  if (status === 503) return 'busy';
  if (status === 408 || status === 504) return 'timeout';
  return 'invalid_input';
}

/** Fixed messages for the errors Fastify raises before routing (the path is not echoed back). */
const FRAMEWORK_MESSAGES: Record<string, string> = {
  FST_ERR_BAD_URL: 'the URL path is not valid (malformed percent-encoding)',
  FST_ERR_MAX_PARAM_LENGTH: 'a path parameter is longer than 100 characters',
};

// Errors raised while routing (malformed percent-encoding or an overlong parameter in the path)
// never reach the error handler, and Fastify's own bodies would break the stable error shape.
/** Fastify's `frameworkErrors` option: routing errors answered as 400 invalid_input with the stable error shape. */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
  if (status >= 400 && status < 500) {
    void reply.code(400).send(errorBody('invalid_input', FRAMEWORK_MESSAGES[error.code] ?? 'the request URL is not valid'));
    return;
  }
  void reply.code(500).send(errorBody('internal_error', 'something went wrong on our side; please try again'));
}

/** One error handler for the whole API: stable codes, and 5xx bodies never show internals. */
export const errorHandler = fp(
  async (app) => {
    app.setNotFoundHandler((request, reply) => {
      reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
    });

    app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
      if (error instanceof ApiError) {
        const { retryAfterMs, extra } = error.details;
        if (retryAfterMs !== undefined) reply.header('retry-after', retryAfterSeconds(retryAfterMs));
        reply.code(ERROR_STATUS[error.code]).send({ ...extra, ...errorBody(error.code, error.message) });
        return;
      }
      if (hasZodFastifySchemaValidationErrors(error)) {
        const details = error.validation
          .map((issue) => `${issue.instancePath.replace(/^\//, '') || 'request'}: ${issue.message}`)
          .join('; ');
        reply.code(400).send(errorBody('invalid_input', `invalid ${error.validationContext ?? 'request'}: ${details}`));
        return;
      }
      const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
      if (status >= 400 && status < 500) {
        const code = codeForStatus(status);
        reply.code(status).send(errorBody(code, error.message));
        return;
      }
      request.log.error({ err: error }, 'request failed');
      reply.code(500).send(errorBody('internal_error', 'something went wrong on our side; please try again'));
    });
  },
  { name: 'error-handler', fastify: '5.x' },
);
