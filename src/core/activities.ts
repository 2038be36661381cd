/**
 * Drop-folder activities (`rp activity`): an admin's rp project plus a script and the resources
 * of each job, run on every file users copy into the activity's drop folder. Pure: the stored
 * definition and its schema, and the rules that decide what becomes of a file in the folder.
 */
import picomatch from 'picomatch';
import * as z from './zod.js';

export interface Activity {
  /** Lowercase letters, digits and "-": the folder and unit names use it. */
  name: string;
  /** The rp project (absolute path) whose docker/ builds the image the jobs run. */
  project: string;
  /** The script line, a file of the project run with its arguments ("transcribe.sh --fast"). */
  script: string;
  /** Each job's resources; what is absent comes from the project's .rp/info.json. */
  request: { gpus?: number; cpus?: number; memoryGb?: number };
  /** Each job's time limit (`2h`), under the owner's maxTime like any job. */
  time?: string;
  /** Names a file must match (`*.wav`), case-insensitively; absent: any name. */
  accept?: string[];
  /** Files larger than this are refused. */
  maxSizeBytes?: number;
  /** Keep the input (in the output folder) when the job succeeds, rather than removing it. */
  keepInput: boolean;
  /** A file is complete once nothing about it changed for this long (or `<name>.done` appears). */
  stableSeconds: number;
  /** The folder users copy files into (mode 1733). */
  dropDir: string;
  createdAt: string;
  createdBy: string;
}

export const ACTIVITY_NAME = /^[a-z][a-z0-9-]{0,31}$/;
export const DEFAULT_STABLE_SECONDS = 5;

const absolutePath = z.string().startsWith('/', 'an absolute path');

export const activitySchema = z.object({
  name: z.string().regex(ACTIVITY_NAME, 'lowercase letters, digits and "-"'),
  project: absolutePath,
  script: z.string().min(1),
  request: z.object({
    gpus: z.number().int().nonnegative().optional(),
    cpus: z.number().int().positive().optional(),
    memoryGb: z.number().positive().optional(),
  }),
  time: z.string().min(1).optional(),
  accept: z.array(z.string().min(1)).min(1).optional(),
  maxSizeBytes: z.number().int().positive().optional(),
  keepInput: z.boolean(),
  stableSeconds: z.number().int().nonnegative(),
  dropDir: absolutePath,
  createdAt: z.string(),
  createdBy: z.string(),
});

/** The marker a user may add beside a file to say it is complete (`talk.wav.done`). */
export const DONE_SUFFIX = '.done';
/** Names of files still being written by common tools; never a job. */
const TEMPORARY_SUFFIXES = ['.part', '.tmp', '.filepart'];

/** What lstat says about an entry of the drop folder. */
export interface DropEntry {
  name: string;
  type: 'file' | 'symlink' | 'directory' | 'other';
  size: number;
  /** Hard links to the file. */
  links: number;
  uid: number;
  /** The last change of the file's data or metadata (ms since the epoch). */
  changedMs: number;
}

/** What the drain does with an entry now. */
export type DropDecision =
  | { action: 'ignore' }
  | { action: 'wait' }
  | { action: 'claim' }
  | { action: 'reject'; reason: string };

export interface DropContext {
  activity: Pick<Activity, 'accept' | 'maxSizeBytes' | 'stableSeconds'>;
  now: Date;
  /** `<name>.done` is in the folder too. */
  markedDone: boolean;
  /** Whether the file's owner may use this host (the host's allow-list). */
  ownerAllowed: boolean;
}

/**
 * The rule for one entry. Dot-files, temporary names and `.done` markers are left alone; a link,
 * a folder or a device is refused (nothing is followed or executed), as is a file with more than
 * one link once it has been quiet for stableSeconds (it may be another's file), too large, of a
 * name not accepted, or of a user the host does not allow. A file is claimed once complete:
 * marked done, or unchanged for stableSeconds.
 */
export function decideDropEntry(entry: DropEntry, context: DropContext): DropDecision {
  if (isIgnoredName(entry.name)) return { action: 'ignore' };
  const reject = (reason: string): DropDecision => ({ action: 'reject', reason });
  if (entry.type === 'symlink') return reject('it is a symbolic link; copy the file itself');
  if (entry.type !== 'file') {
    const what = entry.type === 'directory' ? 'a folder' : 'a device, pipe or socket';
    return reject(`it is ${what}, not a regular file`);
  }
  const { activity } = context;
  const quiet = context.now.getTime() - entry.changedMs >= activity.stableSeconds * 1000;
  if (entry.links > 1) {
    // An upload that links the final name and then removes its temporary one has two links for
    // a moment (the removal changes the file's ctime): only a link that stays is refused.
    if (!quiet) return { action: 'wait' };
    return reject(`it has ${entry.links} hard links; copy the file rather than linking it`);
  }
  if (!acceptsName(activity.accept, entry.name)) {
    return reject(`its name does not match ${(activity.accept ?? []).join(', ')}`);
  }
  if (activity.maxSizeBytes !== undefined && entry.size > activity.maxSizeBytes) {
    return reject(
      `it is ${entry.size} bytes, over the activity's limit of ${activity.maxSizeBytes}`,
    );
  }
  if (!context.ownerAllowed) return reject(`its owner (uid ${entry.uid}) may not use this host`);
  if (context.markedDone) return { action: 'claim' };
  return quiet ? { action: 'claim' } : { action: 'wait' };
}

export function isIgnoredName(name: string): boolean {
  return (
    name.startsWith('.') ||
    name.endsWith(DONE_SUFFIX) ||
    TEMPORARY_SUFFIXES.some((suffix) => name.endsWith(suffix))
  );
}

export function acceptsName(patterns: readonly string[] | undefined, name: string): boolean {
  if (patterns === undefined) return true;
  return picomatch.isMatch(name, [...patterns], { nocase: true, dot: false });
}

/** `--accept "*.wav, *.mp3"` as a list of patterns; undefined when it names none. */
export function parseAcceptList(text: string): string[] | undefined {
  const patterns = text
    .split(',')
    .map((pattern) => pattern.trim())
    .filter((pattern) => pattern.length > 0);
  return patterns.length === 0 ? undefined : patterns;
}

/**
 * The folder of a job's results in its owner's home: `<stem>-<jobid>` (`talk-4821` for
 * talk.wav), with anything but letters, digits, ".", "_" and "-" replaced, and never hidden.
 */
export function outputFolderName(input: string, jobId: string): string {
  const dot = input.lastIndexOf('.');
  const stem = dot > 0 ? input.slice(0, dot) : input;
  const safe = stem
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[.]+/, '_')
    .slice(0, 64);
  return `${safe || 'input'}-${jobId}`;
}

/** A name safe in a Docker bind (no ":" or ","), never hidden: the input's name in /input. */
export function claimedFileName(input: string): string {
  return input.replace(/[^A-Za-z0-9._+ -]/g, '_').replace(/^\./, '_');
}

/** Where an activity's results land in a home folder: `~/rp-output/<activity>`. */
export const OUTPUT_ROOT = 'rp-output';
/** Inside the job's container. */
export const INPUT_MOUNT = '/input';
export const OUTPUT_MOUNT = '/output';
/** The job's log, beside its results in the output folder. */
export const JOB_LOG_NAME = 'job.log';
/** A failed job's input, beside its log. */
export const KEPT_INPUT_NAME = 'input';
