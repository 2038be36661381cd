/**
 * `rp run --on NAME`, and the other commands' `--on`: the laptop side of a remote job.
 *
 * A foreground remote run: sync the project, submit it on the server as a detached job whose
 * stderr is kept apart (`rp run --detach --split-stderr --json`), then follow its two files by
 * byte offset (remote-follow.ts) until it ends, and exit with its exit code. The job belongs to
 * the server's queue, not to this ssh connection: a dropped link leaves it running, Ctrl+C here
 * stops it there (`rp kill`).
 */
import { relative, resolve, sep } from 'node:path';
import { ConfigError, exitCodeForSignal } from '../core/errors.js';
import { laptopExitCode } from '../core/log-frames.js';
import { REMOTE_UNREACHABLE } from '../core/remotes.js';
import { RemoteShell } from '../host/ssh.js';
import {
  followRemoteJob,
  killRemoteJob,
  lostConnectionMessage,
  type FollowResult,
} from './remote-follow.js';
import {
  openRemote,
  openRemoteProject,
  rpOnServer,
  type RemoteProjectSession,
  type RemoteSession,
} from './remote-session.js';
import { Interrupted, pullOutput, syncProject } from './remote-sync.js';

export interface RemoteIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted on Ctrl+C, SIGTERM or SIGHUP. */
  signal?: AbortSignal;
}

export interface SyncFlags {
  syncOutput: boolean;
  maxUploadBytes: number;
}

export interface RemoteRunOptions extends RemoteIo, SyncFlags {
  remote: string;
  cwd: string;
  /** `rp run`'s arguments for the server: the user's, without --on and the sync flags. */
  args: string[];
  /** --detach, --array or --sweep: the server's answer is the whole result. */
  background: boolean;
  reconnectBudgetMs: number;
}

export async function runRemote(options: RemoteRunOptions): Promise<number> {
  return interruptible(async () => {
    const session = await openRemoteProject(options.remote, options.cwd);
    await syncProject(session, { ...options, progress: options.stderr });
    const dir = remoteWorkingDir(session, options.cwd);
    const run = (extra: string[]): string =>
      rpOnServer(session, ['run', ...options.args, ...extra], dir);
    if (options.background) return passThrough(session, run([]));

    const submitted = await session.shell.run(run(['--detach', '--split-stderr', '--json']), {
      stderr: 'inherit',
    });
    if (RemoteShell.lostConnection(submitted)) throw session.shell.connectionError(undefined);
    if (submitted.exitCode !== 0) return submitted.exitCode ?? 1;
    const jobId = submittedJobId(submitted.stdout, session.shell.name);
    if (options.signal?.aborted) {
      await killRemoteJob(session, jobId);
      return exitCodeForSignal(options.signal.reason);
    }
    const result = await followRemoteJob(session, { ...options, jobId, onAbort: 'kill' });
    return exitCodeOf(result, session, jobId, options.stderr);
  }, options.signal);
}

export interface RemoteLogsOptions extends RemoteIo {
  remote: string;
  cwd: string;
  jobId: string;
  follow: boolean;
  reconnectBudgetMs: number;
}

/** `rp logs --on NAME ID [-f]`: with -f, followed and resumed as a remote run's output is. */
export async function remoteLogs(options: RemoteLogsOptions): Promise<number> {
  return interruptible(async () => {
    const session = await openRemote(options.remote, options.cwd);
    if (!options.follow) return passThrough(session, rpOnServer(session, ['logs', options.jobId]));
    const result = await followRemoteJob(session, { ...options, onAbort: 'stop-following' });
    if (result.kind === 'aborted') return exitCodeForSignal(result.reason);
    if (result.kind === 'lost') {
      options.stderr.write(lostConnectionMessage(session.shell.name, options.jobId));
      return REMOTE_UNREACHABLE;
    }
    return 0;
  }, options.signal);
}

/**
 * `rp ps|queue|kill --on NAME …`: the same command on the server, its output and exit code passed
 * through unchanged.
 */
export async function remoteCommand(options: {
  remote: string;
  cwd: string;
  args: string[];
}): Promise<number> {
  const session = await openRemote(options.remote, options.cwd);
  return passThrough(session, rpOnServer(session, options.args));
}

/** `rp enter --on NAME`: sync the project, then `rp enter` there in a terminal (ssh -t). */
export async function remoteEnter(
  options: SyncFlags & RemoteIo & { remote: string; cwd: string; args: string[] },
): Promise<number> {
  return interruptible(async () => {
    const session = await openRemoteProject(options.remote, options.cwd);
    await syncProject(session, { ...options, progress: options.stderr });
    const dir = remoteWorkingDir(session, options.cwd);
    return session.shell.interactive(rpOnServer(session, ['enter', ...options.args], dir));
  }, options.signal);
}

/** `rp pull --on NAME [ID]`: the server's output/ (and the job's logs) into the project here. */
export async function remotePull(
  options: RemoteIo & { remote: string; cwd: string; jobId?: string },
): Promise<number> {
  return interruptible(async () => {
    const session = await openRemoteProject(options.remote, options.cwd);
    // A job's logs: `.rp/logs/NAME_…_ID.log` and its `.err`; rsync expands the pattern there.
    const logs = options.jobId === undefined ? [] : [`.rp/logs/*_${options.jobId}.log*`];
    await pullOutput(session, logs, options.signal);
    options.stderr.write(
      `rp: copied ${session.shell.name}:${session.remoteDir}/output/ into ${session.localRoot}/output/\n`,
    );
    return 0;
  }, options.signal);
}

/** The folder on the server matching `cwd` here: a script path relative to it means the same. */
function remoteWorkingDir(session: RemoteProjectSession, cwd: string): string {
  const inside = relative(session.localRoot, resolve(cwd)).split(sep).join('/');
  return inside === '' || inside.startsWith('..')
    ? session.remoteDir
    : `${session.remoteDir}/${inside}`;
}

async function passThrough(session: RemoteSession, command: string): Promise<number> {
  const program = session.shell.start(command, { stdout: 'inherit', stderr: 'inherit' });
  const exit = await session.shell.programExit('ssh', program);
  if (RemoteShell.lostConnection(exit)) throw session.shell.connectionError(undefined);
  return exit.exitCode ?? 1;
}

function exitCodeOf(
  result: FollowResult,
  session: RemoteSession,
  jobId: string,
  stderr: NodeJS.WritableStream,
): number {
  if (result.kind === 'lost') {
    stderr.write(lostConnectionMessage(session.shell.name, jobId));
    return REMOTE_UNREACHABLE;
  }
  if (result.kind === 'aborted') return exitCodeForSignal(result.reason);
  if (result.end.ending === 'timeout') {
    stderr.write(`rp: ${jobId} was stopped at its time limit\n`);
  }
  return laptopExitCode(result.end);
}

function submittedJobId(stdout: string, name: string): string {
  try {
    const parsed = JSON.parse(stdout) as { id?: unknown };
    if (typeof parsed.id === 'string' && /^\d{4}$/.test(parsed.id)) return parsed.id;
  } catch {
    // Reported below.
  }
  throw new ConfigError(
    `rp on ${name} did not say which job it queued: ${stdout.trim().slice(0, 200)}`,
    {
      hint: 'is rp there the same version as here? ("rp --version" on both)',
    },
  );
}

/** Runs `step`; Ctrl+C during a sync or a connection ends it with 130 (143, 129) instead. */
async function interruptible(
  step: () => Promise<number>,
  signal: AbortSignal | undefined,
): Promise<number> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof Interrupted) return exitCodeForSignal(error.reason);
    if (signal?.aborted && !(error instanceof ConfigError)) return exitCodeForSignal(signal.reason);
    throw error;
  }
}
