/**
 * Sending a project to its folder on the server before a remote run (rsync -az --delete, with the
 * filters of syncFilterRules), after a dry run that says how much it will send and refuses more
 * than --max-upload; and `rp pull`, which brings the server's output/ back.
 */
import { ConfigError } from '../core/errors.js';
import {
  largestFiles,
  parseDryRun,
  pullArgs,
  rsyncRemoteDir,
  syncArgs,
  type UploadPlan,
} from '../core/remote-command.js';
import { formatBytes, plural } from '../core/units.js';
import type { RunningProgram } from '../host/exec.js';
import { RemoteShell } from '../host/ssh.js';
import type { RemoteProjectSession } from './remote-session.js';

/** Ctrl+C (or SIGTERM, SIGHUP) stopped a step; `reason` is the signal's name. */
export class Interrupted extends Error {
  constructor(readonly reason: unknown) {
    super(`interrupted by ${String(reason)}`);
  }
}

export interface SyncOptions {
  syncOutput: boolean;
  maxUploadBytes: number;
  /** Where "sending …" goes (stderr). */
  progress: NodeJS.WritableStream;
  signal?: AbortSignal;
}

export async function syncProject(
  session: RemoteProjectSession,
  options: SyncOptions,
): Promise<UploadPlan> {
  const { shell } = session;
  const base = {
    localDir: session.localRoot,
    remoteDir: rsyncRemoteDir(shell.remote, session.remoteDir),
    shell: shell.rsyncShell(),
    syncOutput: options.syncOutput,
  };
  const dryRun = await rsync(shell, syncArgs({ ...base, dryRun: true }), 'pipe', options.signal);
  const plan = parseDryRun(dryRun.stdout);
  if (plan.bytes > options.maxUploadBytes) {
    throw new ConfigError(
      `${formatBytes(plan.bytes)} to send to ${shell.name} is over --max-upload (${formatBytes(options.maxUploadBytes)}); the largest files:\n${largestFiles(plan).join('\n')}`,
      {
        hint: 'list what the job does not need in .rpignore (as .gitignore), keep data on the server (.rp/paths.json), or raise --max-upload',
      },
    );
  }
  options.progress.write(
    plan.files.length === 0
      ? `rp: ${shell.name}:${session.remoteDir} is up to date\n`
      : `rp: sending ${plural(plan.files.length, 'file')} (${formatBytes(plan.bytes)}) to ${shell.name}:${session.remoteDir}\n`,
  );
  if (plan.files.length > 0 || /^\*deleting /m.test(dryRun.stdout)) {
    await rsync(shell, syncArgs({ ...base, dryRun: false }), 'inherit', options.signal);
  }
  return plan;
}

/**
 * Copies the server's output/ (and `extraFiles`, paths in the project) into the project here,
 * never deleting anything here. Returns what rsync listed as copied.
 */
export async function pullOutput(
  session: RemoteProjectSession,
  extraFiles: readonly string[],
  signal?: AbortSignal,
): Promise<void> {
  const { shell } = session;
  const args = pullArgs({
    localDir: session.localRoot,
    remoteDir: rsyncRemoteDir(shell.remote, session.remoteDir),
    shell: shell.rsyncShell(),
    files: ['output/', ...extraFiles],
  });
  await rsync(shell, args, 'inherit', signal);
}

async function rsync(
  shell: RemoteShell,
  args: string[],
  stdout: 'pipe' | 'inherit',
  signal: AbortSignal | undefined,
): Promise<{ stdout: string }> {
  const program = shell.rsync(args, { stdout, stderr: 'pipe' });
  const stop = (): void => program.kill('SIGTERM');
  signal?.addEventListener('abort', stop, { once: true });
  try {
    const [out, err, exit] = await Promise.all([
      text(program, 'stdout'),
      text(program, 'stderr'),
      shell.programExit('rsync', program),
    ]);
    if (signal?.aborted) throw new Interrupted(signal.reason);
    if (RemoteShell.lostConnection(exit) && exit.signal === null) {
      throw shell.connectionError(lastLine(err));
    }
    if (exit.exitCode !== 0) {
      throw new ConfigError(
        `rsync to ${shell.name} failed (exit ${exit.exitCode ?? exit.signal}): ${lastLine(err)}`,
        {
          hint: 'run again with DEBUG=rp:* to see the rsync command',
        },
      );
    }
    return { stdout: out };
  } finally {
    signal?.removeEventListener('abort', stop);
  }
}

async function text(program: RunningProgram, stream: 'stdout' | 'stderr'): Promise<string> {
  const source = program[stream];
  if (!source) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).slice(-2).join(' / ') || 'no message';
}
