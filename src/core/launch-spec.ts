/**
 * What the host supervisor needs to start a detached job's container, written by the `rp run
 * --detach` that queued it (src/ledger/launch-files.ts): everything worked out from the user's
 * project and identity at submission, so the supervisor, whoever runs it, starts exactly the job
 * the user asked for. Pure: the type, its schema, and the command that writes the job's log.
 */
import * as z from './zod.js';
import {
  gridTask,
  substitutePlaceholders,
  sweepEnvironment,
  type SweepParameter,
} from './array-spec.js';
import type { JobEntry } from './ledger-state.js';

export interface LaunchSpec {
  /** The image the job runs (`rp/alice-proj:0123abcd`). */
  image: string;
  /** Who the job runs as: the image's user, which is the submitting user. */
  user: { uid: number; gid: number };
  /** The submitting user's supplementary groups (see JobContainerSpec.groups). */
  groups: number[];
  /** The argument vector run after the image's entrypoint. */
  command: string[];
  workingDir: string;
  mounts: Array<{ source: string; target: string; readOnly?: boolean }>;
  shmBytes: number;
  env: Record<string, string>;
  /**
   * The folder of the job's log file (`.rp/logs` of the project), as the host and as the container
   * (through the project mount) see it. The file itself is named in the job's ledger entry.
   */
  logDir: { host: string; container: string };
  /**
   * A grid submission's parameters (`--sweep lr=…`): task N runs with the Nth combination. An
   * array or grid task's `{name}` placeholders in `command` are filled in when it starts.
   */
  sweep?: SweepParameter[];
  /**
   * The job's stderr goes to a file of its own, `<log>.err` (stderrFileOf), instead of into the
   * log: a job submitted from a laptop (`rp run --on`) streams its stdout and stderr back apart.
   */
  splitStderr?: boolean;
}

const id = z.number().int().nonnegative();
const absolutePath = z.string().startsWith('/');

export const launchSpecSchema = z.object({
  image: z.string().min(1),
  user: z.object({ uid: id, gid: id }),
  groups: z.array(id),
  command: z.array(z.string()).min(1),
  workingDir: absolutePath,
  mounts: z.array(
    z.object({ source: absolutePath, target: absolutePath, readOnly: z.boolean().optional() }),
  ),
  shmBytes: z.number().int().positive(),
  env: z.record(z.string(), z.string()),
  logDir: z.object({ host: absolutePath, container: absolutePath }),
  sweep: z
    .array(
      z.object({ name: z.string().regex(/^[A-Za-z_]\w*$/), values: z.array(z.string()).min(1) }),
    )
    .optional(),
  splitStderr: z.boolean().optional(),
});

/**
 * The job's command with its output written to its log file by the container itself, as the
 * job's user (a log left by an earlier job of the same name is replaced): the log is complete whatever happens to the supervisor, and nobody needs the right
 * to write into another user's project. `sh` execs the command, so its exit code and signals are
 * the job's own. Undefined when `logFile` (the entry's, a host path) is not in the spec's folder.
 */
export function loggedCommand(
  spec: Pick<LaunchSpec, 'command' | 'logDir' | 'splitStderr'>,
  logFile: string,
): string[] | undefined {
  const slash = logFile.lastIndexOf('/');
  if (logFile.slice(0, slash) !== spec.logDir.host) return undefined;
  const inContainer = `${spec.logDir.container}${logFile.slice(slash)}`;
  const redirect = spec.splitStderr ? '>"$0" 2>"$0.err"' : '>"$0" 2>&1';
  return ['sh', '-c', `exec "$@" ${redirect}`, inContainer, ...spec.command];
}

/** Where a job with `splitStderr` writes its stderr: next to its log, `<log>.err`. */
export function stderrFileOf(logFile: string): string {
  return `${logFile}.err`;
}

/**
 * What one job of a launch spec runs: a plain job its command as it is; an array or grid task its
 * command with `{i}` (the task index) and the grid's `{name}`s filled in, and RP_ARRAY_JOB_ID,
 * RP_ARRAY_TASK_ID and RP_SWEEP_<NAME> in its environment.
 */
export function taskCommand(
  spec: Pick<LaunchSpec, 'command' | 'sweep'>,
  job: Pick<JobEntry, 'id' | 'array'>,
): { command: string[]; env: Record<string, string> } {
  if (job.array === undefined) return { command: spec.command, env: {} };
  const task = String(job.array.task);
  const grid = spec.sweep ? gridTask(spec.sweep, job.array.task) : {};
  const values = { i: task, ...grid };
  return {
    command: spec.command.map((arg) => substitutePlaceholders(arg, values)),
    env: { RP_ARRAY_JOB_ID: job.id, RP_ARRAY_TASK_ID: task, ...sweepEnvironment(grid) },
  };
}

// Compile-time proof that the schema and the interface describe the same data.
type Equals<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Expect<T extends true> = T;
export type LaunchSchemaMatchesType = Expect<Equals<z.infer<typeof launchSpecSchema>, LaunchSpec>>;
