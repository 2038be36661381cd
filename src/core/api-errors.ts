/**
 * Errors of the HTTP API that have no CLI counterpart's exit code to go by: each carries the
 * HTTP status and a short machine-readable code for `{error: {code, message}}`. Pure.
 */
import { ExitCode, RpError } from './errors.js';

export class ApiError extends RpError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: { hint?: string } = {},
  ) {
    super(message, ExitCode.config, options);
  }
}

export const forbidden = (message: string): ApiError => new ApiError(403, 'forbidden', message);
export const notFound = (message: string): ApiError => new ApiError(404, 'not_found', message);
export const badRequest = (message: string): ApiError => new ApiError(400, 'bad_request', message);

/** A user may act on a job or booking of uid `owner`: their own, or anyone's as root. */
export function mayActOn(requesterUid: number, owner: number): boolean {
  return requesterUid === 0 || requesterUid === owner;
}

/** The HTTP status and code of an error from rp's services, by the exit code the CLI would use. */
export function httpStatusOf(error: RpError): { status: number; code: string } {
  if (error instanceof ApiError) return { status: error.status, code: error.code };
  switch (error.exitCode) {
    case ExitCode.usage:
      return { status: 400, code: 'bad_request' };
    case ExitCode.noCapacity:
      return { status: 409, code: 'no_capacity' };
    case ExitCode.docker:
      return { status: 502, code: 'engine_failed' };
    default:
      return { status: 422, code: 'refused' };
  }
}
