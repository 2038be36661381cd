/**
 * The ledger file's schema. The file is shared by every rp process on the host, possibly of
 * different rp versions, so it is checked on every read: a file that does not match is treated as
 * corrupt (moved aside and rebuilt, see src/ledger/store.ts), and a file written by a newer rp is
 * refused rather than rewritten in an older shape.
 *
 * The compile-time check at the bottom keeps this schema and the types in ledger-state.ts equal: a
 * field added to one and not the other fails `tsc` instead of being silently dropped on the next
 * write (zod strips unknown keys).
 */
import * as z from './zod.js';
import {
  LEDGER_VERSION,
  type Booking,
  type BookingRecord,
  type HistoryRecord,
  type JobEntry,
  type LedgerState,
  type ProcessRef,
} from './ledger-state.js';

const isoTimestamp = z.string().min(1);
const nonNegativeInt = z.number().int().nonnegative();

export const resourceRequestSchema = z.object({
  gpus: nonNegativeInt,
  cpus: z.number().nonnegative(),
  memoryMb: nonNegativeInt,
});

export const grantSchema = z.object({
  gpus: z.array(nonNegativeInt),
  cpus: z.array(nonNegativeInt),
  memoryMb: nonNegativeInt,
});

export const processRefSchema = z.object({
  pid: z.number().int().positive(),
  startTime: z.string().regex(/^\d+$/, 'a clock-tick count'),
  bootId: z.string().min(1).optional(),
});

export const timeLimitSchema = z.object({
  seconds: z.number().int().positive(),
  signal: z
    .object({ name: z.string().regex(/^SIG[A-Z0-9]+$/, 'a signal name'), before: nonNegativeInt })
    .optional(),
});

const activitySchema = z.object({ name: z.string().min(1), input: z.string().min(1) });
const projectSchema = z.object({ path: z.string(), name: z.string() });
const jobKindSchema = z.enum(['run', 'enter']);

export const jobEntrySchema = z.object({
  id: z.string().regex(/^\d{4}$/, 'four digits'),
  seq: z.number().int().positive(),
  user: z.string(),
  uid: nonNegativeInt,
  project: projectSchema,
  kind: jobKindSchema,
  command: z.string(),
  request: resourceRequestSchema,
  state: z.enum(['queued', 'granted', 'running']),
  grant: grantSchema.optional(),
  submittedAt: isoTimestamp,
  grantedAt: isoTimestamp.optional(),
  startedAt: isoTimestamp.optional(),
  supervisor: processRefSchema,
  container: z.object({ id: z.string().min(1), name: z.string() }).optional(),
  logFile: z.string().optional(),
  killedBy: z.object({ user: z.string(), uid: z.number().int(), at: isoTimestamp }).optional(),
  image: z.string().min(1).optional(),
  detached: z.object({ launch: z.string().regex(/^[\w.-]+$/, 'a file name') }).optional(),
  array: z
    .object({ task: nonNegativeInt, limit: z.number().int().positive().optional() })
    .optional(),
  timeLimit: timeLimitSchema.optional(),
  deadline: isoTimestamp.optional(),
  booking: z.object({ id: z.string().min(1), until: isoTimestamp }).optional(),
  preemptible: z.literal(true).optional(),
  preempted: z.object({ at: isoTimestamp, booking: z.string().min(1) }).optional(),
  activity: activitySchema.optional(),
});

export const bookingSchema = z.object({
  id: z.string().regex(/^b\d{4}$/, '"b" and four digits'),
  user: z.string(),
  uid: nonNegativeInt,
  start: isoTimestamp,
  end: isoTimestamp,
  request: resourceRequestSchema,
  gpuIds: z.array(nonNegativeInt).optional(),
  createdAt: isoTimestamp,
  usedAt: isoTimestamp.optional(),
});

const jobKeySchema = z.object({ id: z.string(), seq: z.number().int().positive() });

export const ledgerStateSchema = z
  .object({
    // Versions 1 to 5 lack only optional fields: read as they are, written back as the latest.
    version: z
      .union([
        z.literal(1),
        z.literal(2),
        z.literal(3),
        z.literal(4),
        z.literal(5),
        z.literal(LEDGER_VERSION),
      ])
      .transform((): typeof LEDGER_VERSION => LEDGER_VERSION),
    nextSeq: z.number().int().positive(),
    jobs: z.array(jobEntrySchema),
    head: jobKeySchema.optional(),
    hostSupervisor: processRefSchema.optional(),
    bookings: z.array(bookingSchema).optional(),
  })
  .superRefine((state, ctx) => {
    for (const issue of crossEntryIssues(state)) ctx.addIssue({ code: 'custom', ...issue });
  });

/**
 * What no single entry shows: two live jobs with one id would make "rp kill <id>" ambiguous,
 * unless both are tasks of one array (different task indices); a seq at or past nextSeq would be
 * handed out again. Either means the file was not written by a correct rp.
 */
function crossEntryIssues(
  state: Pick<LedgerState, 'jobs' | 'nextSeq'>,
): Array<{ path: Array<string | number>; message: string }> {
  const issues: Array<{ path: Array<string | number>; message: string }> = [];
  const seen = new Map<string, { array: boolean; tasks: Set<number> }>();
  state.jobs.forEach((job, index) => {
    const earlier = seen.get(job.id);
    const task = job.array?.task;
    if (earlier && (!earlier.array || task === undefined || earlier.tasks.has(task))) {
      issues.push({
        path: ['jobs', index, 'id'],
        message: `duplicate job id ${task === undefined ? job.id : `${job.id}_${task}`}`,
      });
    }
    const entry = earlier ?? { array: task !== undefined, tasks: new Set<number>() };
    if (task !== undefined) entry.tasks.add(task);
    seen.set(job.id, entry);
    if (job.seq >= state.nextSeq) {
      issues.push({
        path: ['jobs', index, 'seq'],
        message: `seq ${job.seq} is not below nextSeq ${state.nextSeq}`,
      });
    }
  });
  return issues;
}

const ledgerTopSchema = z.object({
  version: z.literal(LEDGER_VERSION),
  nextSeq: z.number().int().positive(),
  head: jobKeySchema.optional(),
  hostSupervisor: processRefSchema.optional(),
  bookings: z.array(bookingSchema).optional(),
});

/**
 * Why `after`, a decision's next state from `before` (a valid ledger), is not a valid ledger, or
 * undefined when it is. Checks what the full schema checks, but parses only the entries the
 * decision made or changed: a decision keeps the objects of the entries it leaves alone, and a
 * queue of a thousand entries is then checked in a fraction of the time.
 */
export function invalidNextState(before: LedgerState, after: LedgerState): string | undefined {
  const top = ledgerTopSchema.safeParse({ ...after, jobs: undefined });
  if (!top.success) return summarize(top.error);
  const unchanged = new Set(before.jobs);
  for (const [index, job] of after.jobs.entries()) {
    if (unchanged.has(job)) continue;
    const checked = jobEntrySchema.safeParse(job);
    if (!checked.success) return `jobs.${index}: ${summarize(checked.error)}`;
  }
  const [issue] = crossEntryIssues(after);
  return issue === undefined ? undefined : `${issue.path.join('.')}: ${issue.message}`;
}

export const historyRecordSchema = z.object({
  id: z.string(),
  user: z.string(),
  uid: nonNegativeInt,
  project: projectSchema,
  kind: jobKindSchema,
  command: z.string(),
  request: resourceRequestSchema,
  grant: grantSchema.optional(),
  submittedAt: isoTimestamp,
  startedAt: isoTimestamp.optional(),
  endedAt: isoTimestamp,
  exitCode: z.number().int().optional(),
  ending: z.enum(['exited', 'killed', 'cancelled', 'failed', 'reaped', 'timeout', 'preempted']),
  logFile: z.string().optional(),
  array: z.object({ task: nonNegativeInt }).optional(),
  activity: activitySchema.optional(),
});

export const bookingRecordSchema = bookingSchema.extend({
  ending: z.enum(['used', 'released', 'cancelled']),
  endedAt: isoTimestamp,
});

/** What reading a ledger file's text can give. */
export type LedgerParse =
  | { kind: 'ok'; state: LedgerState }
  | { kind: 'corrupt'; reason: string }
  /** Written by a newer rp: never treat as corrupt, never overwrite. */
  | { kind: 'future'; version: number };

/** Parses the text of a ledger file. Pure: no I/O, never throws. */
export function parseLedgerText(text: string): LedgerParse {
  if (text.trim() === '') return { kind: 'corrupt', reason: 'the file is empty' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { kind: 'corrupt', reason: `not valid JSON (${(error as Error).message})` };
  }
  // Look at the version before anything else: a newer rp may have changed every other field.
  if (typeof raw === 'object' && raw !== null && 'version' in raw) {
    const version = (raw as { version: unknown }).version;
    if (typeof version === 'number' && Number.isInteger(version) && version > LEDGER_VERSION) {
      return { kind: 'future', version };
    }
  }
  const parsed = ledgerStateSchema.safeParse(raw);
  if (!parsed.success) {
    return { kind: 'corrupt', reason: `not a valid ledger: ${summarize(parsed.error)}` };
  }
  return { kind: 'ok', state: parsed.data };
}

function summarize(error: z.ZodError): string {
  const first = error.issues.slice(0, 3).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
    return `${where}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return first.join('; ') + more;
}

// Compile-time proof that the schema and the hand-written types describe the same data.
type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;
export type LedgerSchemaMatchesTypes = [
  Expect<Equals<z.infer<typeof ledgerStateSchema>, LedgerState>>,
  Expect<Equals<z.infer<typeof jobEntrySchema>, JobEntry>>,
  Expect<Equals<z.infer<typeof processRefSchema>, ProcessRef>>,
  Expect<Equals<z.infer<typeof historyRecordSchema>, HistoryRecord>>,
  Expect<Equals<z.infer<typeof bookingSchema>, Booking>>,
  Expect<Equals<z.infer<typeof bookingRecordSchema>, BookingRecord>>,
];
