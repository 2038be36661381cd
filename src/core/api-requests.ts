/**
 * What the HTTP API (`rp serve`) accepts: the bodies, parameters and query strings of its
 * requests, as zod schemas that both validate requests and describe them in the OpenAPI document.
 * Pure. Each field mirrors the CLI flag of the same meaning.
 */
import { z } from 'zod';
import { MAX_KILL_GRACE_SECONDS } from './kill.js';

/** The largest request body the server reads, in bytes. */
export const MAX_BODY_BYTES = 64 * 1024;

/** `rp kill`'s job ids: 1234, or 1234_7 for a task of an array. */
export const jobIdParams = z.object({
  id: z
    .string()
    .regex(/^[1-9][0-9]{3}(?:_(?:0|[1-9][0-9]*))?$/, 'a job id: four digits, or 1234_7 for a task'),
});

export const bookingIdParams = z.object({
  id: z.string().regex(/^b[0-9]{1,9}$/, 'a booking id: b1234'),
});

const count = z.number().int().min(0).max(1024);

/** `POST /api/v1/jobs`: `rp run --detach` in the project folder `project`, as the token's user. */
export const submitJobBody = z
  .object({
    project: z
      .string()
      .min(1)
      .max(4096)
      .startsWith('/', 'an absolute path of a project folder (one with .rp/info.json)'),
    script: z
      .string()
      .min(1)
      .max(8192)
      .describe('the script and its arguments, as rp run --script'),
    cpu: z.number().int().min(1).max(4096).optional(),
    gpu: count.optional(),
    mem: z.number().positive().max(1_000_000).optional().describe('memory in GB'),
    time: z.string().min(1).max(64).optional().describe('a time limit, as rp run --time'),
  })
  .strict();
export type SubmitJobBody = z.infer<typeof submitJobBody>;

/** `POST /api/v1/bookings`: `rp book`. */
export const bookingBody = z
  .object({
    start: z.string().min(1).max(64).describe('when it begins, as rp book --start'),
    duration: z.string().min(1).max(64).describe('how long, as rp book --duration'),
    gpu: count.optional(),
    cpu: count.optional(),
    mem: z.number().min(0).max(1_000_000).optional().describe('memory in GB'),
    gpuIds: z.string().max(256).optional().describe('these GPUs: 0,3 or 0-3'),
  })
  .strict();
export type BookingBody = z.infer<typeof bookingBody>;

/** `DELETE /api/v1/jobs/:id?grace=N`: `rp kill --grace N`. */
export const killQuery = z.object({
  grace: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_KILL_GRACE_SECONDS)
    .optional()
    .describe(
      'seconds a running job gets between SIGTERM and SIGKILL (default 10), as rp kill --grace',
    ),
});

/** `GET /api/v1/jobs/:id/logs?offset=N`. */
export const logsQuery = z.object({
  offset: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

/** `GET /api/v1/bookings?all=true`: everyone's (the dashboard's timeline), else the caller's. */
export const bookingsQuery = z.object({
  all: z.enum(['true', 'false']).optional(),
});

/** `GET /api/v1/report`: `rp report --since | --from --to, --by`. */
export const reportQuery = z.object({
  since: z.string().max(64).optional(),
  from: z.string().max(64).optional(),
  to: z.string().max(64).optional(),
  by: z.enum(['user', 'project', 'week']).optional(),
});

/** A zod issue path as the field name an error names: "body.cpu", "params.id". */
export function fieldName(where: string, path: ReadonlyArray<PropertyKey>): string {
  return [where, ...path.map(String)].filter(Boolean).join('.');
}
