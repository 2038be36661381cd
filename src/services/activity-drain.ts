/**
 * The drain (`rp activity drain`, `rp activity watch`, the systemd units): one pass settles the
 * inputs of ended jobs, then looks at every file in each drop folder. A complete file is claimed
 * by renaming it into the work area (atomic: of two drains, one wins the rename and the other
 * finds nothing), checked again where nobody else can touch it, and queued as a job of its
 * owner; a file that may not run is moved to failed/ with `<name>.reason` saying why. Nothing in
 * a drop folder is ever followed, opened or executed.
 */
import { chown, lstat, mkdir, readdir, rename, rmdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import createDebug from 'debug';
import {
  claimedFileName,
  decideDropEntry,
  DONE_SUFFIX,
  isIgnoredName,
  type Activity,
  type DropEntry,
} from '../core/activities.js';
import { BuildError, DockerError, RpError } from '../core/errors.js';
import { sameProcess } from '../core/host-supervision.js';
import { isUserAllowed } from '../core/host-config.js';
import { accountOf, type Account } from '../host/accounts.js';
import { randomToken } from '../host/ids.js';
import { currentProcessRef, isProcessAlive } from '../host/process.js';
import { activityPaths, recordFailure } from './activity-store.js';
import {
  CLAIM_FILE,
  claimedPath,
  claimOutcome,
  readClaim,
  settleInput,
  submitClaim,
  succeeded,
  writeClaim,
  type Claim,
} from './activity-jobs.js';
import type { BuildReporter } from './build-image.js';
import type { HostSession } from './host-session.js';

const debug = createDebug('rp:activity');

/** What one pass did, for the drain's own log and `--json`. */
export interface DrainReport {
  queued: Array<{ activity: string; input: string; user: string; job: string }>;
  refused: Array<{ activity: string; input: string; reason: string }>;
  settled: Array<{ activity: string; input: string; job: string; ok: boolean }>;
  /** Files not complete yet. */
  waiting: number;
  /** Dot-files, temporary names and markers left alone. */
  ignored: number;
  /** Claimed files whose job could not be queued for now (Docker did not answer). */
  deferred: number;
}

export function emptyReport(): DrainReport {
  return { queued: [], refused: [], settled: [], waiting: 0, ignored: 0, deferred: 0 };
}

export interface DrainOptions {
  session: HostSession;
  activities: Activity[];
  build: BuildReporter;
}

export async function drainPass(options: DrainOptions): Promise<DrainReport> {
  const report = emptyReport();
  for (const activity of options.activities) {
    await settleEnded(options, activity, report);
    await drainFolder(options, activity, report);
  }
  return report;
}

/** Settles every claim of `activity` whose job has ended (or whose drain died before queueing). */
async function settleEnded(
  options: DrainOptions,
  activity: Activity,
  report: DrainReport,
): Promise<void> {
  const { session } = options;
  const { work } = activityPaths(session.rpHome, activity.name);
  for (const token of await readdir(work).catch(() => [] as string[])) {
    const claim = await readClaim(join(work, token));
    if (claim === undefined) continue;
    if (claim.job === undefined) {
      // Deferred by this drain, or its drain died between the claim and the queueing: queue it.
      const mine = sameProcess(claim.claimedBy, await currentProcessRef());
      if (mine || !(await isProcessAlive(claim.claimedBy))) {
        await queueClaim(options, activity, claim, report);
      }
      continue;
    }
    const outcome = await claimOutcome(session, claim);
    if (outcome.kind === 'live') continue;
    const ok = outcome.kind === 'ended' && succeeded(outcome.record);
    const job = claim.job.id;
    if (!ok) {
      const how =
        outcome.kind === 'ended'
          ? `job ${job} ended ${outcome.record.ending}` +
            (outcome.record.exitCode === undefined ? '' : ` (exit code ${outcome.record.exitCode})`)
          : `job ${job} left the queue without a record`;
      await recordFailure(session.rpHome, activity.name, {
        at: session.clock.now().toISOString(),
        user: claim.owner.name,
        input: claim.input,
        reason: `${how}; the input is kept in ${claim.job.outputDir}`,
        job,
      });
    }
    try {
      await settleInput(claim, !ok || activity.keepInput);
    } catch (error) {
      // The owner's folder took no copy (gone, full): the input waits in failed/ instead.
      await refuse(options, activity, claimedPath(claim), claim, report, reasonOf(error));
      await dropClaim(claim);
    }
    report.settled.push({ activity: activity.name, input: claim.input, job, ok });
  }
}

async function drainFolder(
  options: DrainOptions,
  activity: Activity,
  report: DrainReport,
): Promise<void> {
  const { session } = options;
  const names = await readdir(activity.dropDir).catch((error: NodeJS.ErrnoException) => {
    debug('cannot list %s: %s', activity.dropDir, error.message);
    return [] as string[];
  });
  const present = new Set(names);
  const { limits } = await session.policy();
  const accounts = new Map<number, Account | undefined>();
  for (const name of names) {
    if (isIgnoredName(name)) {
      report.ignored += 1;
      continue;
    }
    const path = join(activity.dropDir, name);
    const entry = await lstatEntry(path, name);
    if (entry === undefined) continue;
    if (!accounts.has(entry.uid)) accounts.set(entry.uid, await accountOf(entry.uid));
    const owner = accounts.get(entry.uid);
    const decision = decideDropEntry(entry, {
      activity,
      now: session.clock.now(),
      markedDone: present.has(`${name}${DONE_SUFFIX}`),
      ownerAllowed: owner !== undefined && isUserAllowed(limits, owner.name),
    });
    if (decision.action === 'wait') report.waiting += 1;
    if (decision.action === 'reject') {
      await refuse(options, activity, path, { input: name, owner }, report, decision.reason);
    }
    if (decision.action === 'claim' && owner !== undefined) {
      await claimAndQueue(options, activity, { path, name, owner }, report);
    }
  }
}

async function lstatEntry(path: string, name: string): Promise<DropEntry | undefined> {
  const stats = await lstat(path).catch(() => undefined);
  if (stats === undefined) return undefined;
  return {
    name,
    type: stats.isSymbolicLink()
      ? 'symlink'
      : stats.isFile()
        ? 'file'
        : stats.isDirectory()
          ? 'directory'
          : 'other',
    size: stats.size,
    links: stats.nlink,
    uid: stats.uid,
    changedMs: Math.max(stats.mtimeMs, stats.ctimeMs),
  };
}

async function claimAndQueue(
  options: DrainOptions,
  activity: Activity,
  file: { path: string; name: string; owner: Account },
  report: DrainReport,
): Promise<void> {
  const { work } = activityPaths(options.session.rpHome, activity.name);
  const claim: Claim = {
    dir: join(work, `${Date.now().toString(36)}-${randomToken(4)}`),
    input: file.name,
    file: claimedFileName(file.name),
    owner: file.owner,
    claimedBy: await currentProcessRef(),
  };
  await mkdir(claim.dir, { mode: 0o700 });
  try {
    await rename(file.path, claimedPath(claim));
  } catch (error) {
    // Another drain claimed it first, or its owner took it back.
    debug('not claimed %s: %s', file.path, (error as Error).message);
    await rmdir(claim.dir).catch(() => undefined);
    return;
  }
  await unlink(`${file.path}${DONE_SUFFIX}`).catch(() => undefined);
  // Checked again where its owner can no longer swap it: what was renamed is what runs.
  const claimed = await lstatEntry(claimedPath(claim), file.name);
  const changed =
    claimed === undefined || claimed.type !== 'file' || claimed.links > 1
      ? 'it changed while it was claimed (a link or a folder now)'
      : claimed.uid !== file.owner.uid
        ? 'its owner changed while it was claimed'
        : undefined;
  if (changed !== undefined) {
    await refuse(options, activity, claimedPath(claim), claim, report, changed);
    await dropClaim(claim);
    return;
  }
  await writeClaim(claim);
  await queueClaim(options, activity, claim, report);
}

async function queueClaim(
  options: DrainOptions,
  activity: Activity,
  claim: Claim,
  report: DrainReport,
): Promise<void> {
  try {
    const job = await submitClaim(options.session, activity, claim, options.build);
    report.queued.push({
      activity: activity.name,
      input: claim.input,
      user: claim.owner.name,
      job: job.id,
    });
  } catch (error) {
    if (isPassing(error)) {
      // Docker is down or restarting: not the file's fault. The claim stays, and this drain (or
      // the next, once this one is gone) queues it on a later pass.
      debug('deferred %s: %s', claim.input, reasonOf(error));
      report.deferred += 1;
      return;
    }
    await refuse(options, activity, claimedPath(claim), claim, report, reasonOf(error));
    await dropClaim(claim);
  }
}

/** An error of the moment (the engine does not answer), after which the same job may queue. */
function isPassing(error: unknown): boolean {
  return error instanceof DockerError && !(error instanceof BuildError);
}

/** Removes a claim whose input went elsewhere; a claim still holding its input stays. */
async function dropClaim(claim: Pick<Claim, 'dir'>): Promise<void> {
  await unlink(join(claim.dir, CLAIM_FILE)).catch(() => undefined);
  await rmdir(claim.dir).catch((error: Error) => debug('kept %s: %s', claim.dir, error.message));
}

function reasonOf(error: unknown): string {
  const hint = error instanceof RpError && error.hint !== undefined ? ` (${error.hint})` : '';
  return `${error instanceof Error ? error.message : String(error)}${hint}`;
}

/**
 * Moves a file that may not run to failed/ (renamed when the name is taken), with
 * `<name>.reason` beside it, both its owner's, and records the refusal.
 */
async function refuse(
  options: DrainOptions,
  activity: Activity,
  path: string,
  file: { input: string; owner?: Pick<Account, 'uid' | 'gid' | 'name'> | undefined },
  report: DrainReport,
  reason: string,
): Promise<void> {
  const { session } = options;
  const { failed } = activityPaths(session.rpHome, activity.name);
  const target = await freeName(failed, file.input);
  try {
    await rename(path, join(failed, target));
    const reasonFile = join(failed, `${target}.reason`);
    await writeFile(reasonFile, `${reason}\n`, { mode: 0o600 });
    if (file.owner) await chown(reasonFile, file.owner.uid, file.owner.gid);
  } catch (error) {
    debug('could not move %s to %s: %s', path, failed, (error as Error).message);
  }
  await recordFailure(session.rpHome, activity.name, {
    at: session.clock.now().toISOString(),
    user: file.owner?.name ?? '?',
    input: file.input,
    reason,
  });
  report.refused.push({ activity: activity.name, input: file.input, reason });
}

async function freeName(dir: string, name: string): Promise<string> {
  for (let n = 0; ; n += 1) {
    const candidate = n === 0 ? name : `${name}.${n}`;
    const taken = await Promise.all([
      lstat(join(dir, candidate)).then(
        () => true,
        () => false,
      ),
      lstat(join(dir, `${candidate}.reason`)).then(
        () => true,
        () => false,
      ),
    ]);
    if (!taken.some(Boolean)) return candidate;
  }
}
