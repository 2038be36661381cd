/**
 * Every error the API answers with is `{error: {code, message, hint?}}` with its HTTP status:
 * a bad request names the field, and nothing ever carries a stack trace.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import createDebug from 'debug';
import { httpStatusOf } from '../core/api-errors.js';
import { RpError } from '../core/errors.js';

const debug = createDebug('rp:serve');

export interface ErrorBody {
  error: { code: string; message: string; hint?: string };
}

export function errorBody(code: string, message: string, hint?: string): ErrorBody {
  return { error: { code, message, ...(hint === undefined ? {} : { hint }) } };
}

/** fastify's own errors (body parsing, limits) by their code. */
const FRAMEWORK_ERRORS: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'body_too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'bad_request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'bad_request' },
};

export function handleError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const [first] = error.validation;
    const where = error.validationContext === 'querystring' ? 'query' : error.validationContext;
    const field = [where, ...(first?.instancePath ?? '').split('/').filter(Boolean)].join('.');
    void reply.code(400).send(errorBody('bad_request', `${field}: ${first?.message ?? 'invalid'}`));
    return;
  }
  if (error instanceof RpError) {
    const { status, code } = httpStatusOf(error);
    void reply.code(status).send(errorBody(code, error.message, error.hint));
    return;
  }
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.statusCode === 429) {
    void reply
      .code(429)
      .send(errorBody('rate_limited', fastifyError.message ?? 'too many requests; slow down'));
    return;
  }
  const known = FRAMEWORK_ERRORS[fastifyError.code ?? ''];
  if (known) {
    void reply.code(known.status).send(errorBody(known.code, fastifyError.message ?? known.code));
    return;
  }
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode < 500) {
    void reply
      .code(fastifyError.statusCode)
      .send(errorBody('bad_request', fastifyError.message ?? 'bad request'));
    return;
  }
  // A bug: the details go to the server's stderr, never to the client.
  process.stderr.write(
    `rp serve: ${request.method} ${request.url}: ${(error as Error)?.stack ?? String(error)}\n`,
  );
  debug('500 for %s %s', request.method, request.url);
  void reply.code(500).send(errorBody('internal', 'the server failed; its log says why'));
}
