/**
 * The laptop's side of a remote job's output: runs the server's `rp remote follow` over ssh,
 * writes the job's stdout and stderr to ours as the frames arrive, and counts what it wrote of
 * each. A dropped connection does not end anything on the server: this reconnects with backoff and
 * asks again from exactly the offsets written, until the job ends or the reconnection budget is
 * spent (then it says how to follow the job later).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import createDebug from 'debug';
import { ConfigError } from '../core/errors.js';
import { jobName } from '../core/naming.js';
import {
  FrameDecoder,
  reconnectDelay,
  type JobEnd,
  type StreamOffsets,
} from '../core/log-frames.js';
import type { RunningProgram } from '../host/exec.js';
import { RemoteShell } from '../host/ssh.js';
import { rpOnServer, type RemoteSession } from './remote-session.js';

const debug = createDebug('rp:remote');

/** How long rp keeps trying to reconnect, by default: long enough for a Wi-Fi hand-over. */
export const DEFAULT_RECONNECT_MS = 120_000;

export interface FollowOptions {
  jobId: string;
  stdout: NodeJS.WritableStream;
  /** The job's stderr, and rp's own messages. */
  stderr: NodeJS.WritableStream;
  /** Aborted on Ctrl+C, SIGTERM or SIGHUP. */
  signal?: AbortSignal;
  /** What the abort does: stop the job on the server (`rp run --on`), or only stop following. */
  onAbort: 'kill' | 'stop-following';
  /** Give up reconnecting after this long (RP_REMOTE_RECONNECT_S). */
  reconnectBudgetMs: number;
  from?: StreamOffsets;
}

export type FollowResult =
  | { kind: 'ended'; end: JobEnd }
  /** Aborted: the job was stopped (with `end` when its end was seen) or left running. */
  | { kind: 'aborted'; reason: unknown; end?: JobEnd }
  /** The connection could not be made again; the job goes on on the server. */
  | { kind: 'lost' };

export async function followRemoteJob(
  session: RemoteSession,
  options: FollowOptions,
): Promise<FollowResult> {
  const { shell } = session;
  const offsets: StreamOffsets = { ...(options.from ?? { stdout: 0, stderr: 0 }) };
  let killed = false;
  let lostAt: number | undefined;
  let attempt = 0;
  for (;;) {
    const follower = startFollower(session, options.jobId, offsets);
    const stopFollowing = (): void => follower.kill('SIGTERM');
    const onAbort = (): void => {
      if (options.onAbort === 'stop-following') {
        stopFollowing();
        return;
      }
      // Stop the job; the follower goes on and brings its last output and its end.
      killed = true;
      options.stderr.write(`\nrp: stopping ${jobName(options.jobId)} on ${shell.name}\n`);
      void killRemoteJob(session, options.jobId).catch((error: Error) => {
        options.stderr.write(`rp: could not stop ${jobName(options.jobId)}: ${error.message}\n`);
        stopFollowing();
      });
    };
    if (options.signal?.aborted && !killed) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });
    let outcome: Awaited<ReturnType<typeof readFrames>>;
    try {
      outcome = await readFrames(shell, follower, offsets, options);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    if (outcome.end) {
      if (lostAt !== undefined) debug('resumed after %d ms', Date.now() - lostAt);
      return options.signal?.aborted
        ? { kind: 'aborted', reason: options.signal.reason, end: outcome.end }
        : { kind: 'ended', end: outcome.end };
    }
    if (options.signal?.aborted && (options.onAbort === 'stop-following' || !killed)) {
      return { kind: 'aborted', reason: options.signal.reason };
    }
    if (!RemoteShell.lostConnection(outcome.exit)) {
      const said = outcome.errorText.trim() || `exit ${outcome.exit.exitCode}`;
      // The server's rp explained itself (no such job…): pass its words on.
      throw new ConfigError(
        `following ${jobName(options.jobId)} on ${shell.name} failed: ${said.replace(/^rp: /, '')}`,
      );
    }
    // The connection dropped: the job goes on there. Reconnect and ask from where we are.
    lostAt ??= Date.now();
    if (attempt === 0) {
      options.stderr.write(`rp: lost the connection to ${shell.name}; reconnecting\n`);
    }
    let connected = false;
    while (!connected) {
      attempt += 1;
      const delay = reconnectDelay(attempt, Date.now() - lostAt, options.reconnectBudgetMs);
      if (delay === undefined) return { kind: 'lost' };
      try {
        await sleep(delay, undefined, { signal: options.signal });
      } catch {
        // Ctrl+C while the connection is down.
        if (options.onAbort === 'kill' && !killed) {
          killed = true;
          await killRemoteJob(session, options.jobId).catch(() => undefined);
        }
        return { kind: 'aborted', reason: options.signal?.reason };
      }
      try {
        await shell.connect();
        connected = true;
      } catch (error) {
        debug('reconnection attempt %d failed: %s', attempt, (error as Error).message);
      }
    }
    options.stderr.write(
      `rp: reconnected to ${shell.name}; resuming ${jobName(options.jobId)} at byte ${offsets.stdout} of stdout and ${offsets.stderr} of stderr\n`,
    );
    lostAt = undefined;
    attempt = 0;
  }
}

function startFollower(session: RemoteSession, jobId: string, from: StreamOffsets): RunningProgram {
  const args = [
    'remote',
    'follow',
    jobId,
    '--stdout-from',
    String(from.stdout),
    '--stderr-from',
    String(from.stderr),
  ];
  // stdin stays open and unused: when this side goes away, the server's follower sees it end.
  return session.shell.start(rpOnServer(session, args), {
    stdin: 'pipe',
    stdout: 'pipe',
    stderr: 'pipe',
  });
}

async function readFrames(
  shell: RemoteShell,
  follower: RunningProgram,
  offsets: StreamOffsets,
  options: FollowOptions,
): Promise<{
  end?: JobEnd;
  exit: { exitCode: number | null; signal: NodeJS.Signals | null };
  errorText: string;
}> {
  const decoder = new FrameDecoder();
  let end: JobEnd | undefined;
  let errorText = '';
  let broken: Error | undefined;
  follower.stdout?.on('data', (chunk: Buffer) => {
    if (broken) return;
    try {
      for (const event of decoder.push(chunk)) {
        if (event.type === 'end') {
          end = event.end;
          continue;
        }
        const target = event.stream === 'stdout' ? options.stdout : options.stderr;
        target.write(event.bytes);
        offsets[event.stream] += event.bytes.length;
      }
    } catch (error) {
      broken = error as Error;
      follower.kill('SIGTERM');
    }
  });
  follower.stderr?.on('data', (chunk: Buffer) => {
    errorText += chunk.toString('utf8');
  });
  const exit = await shell.programExit('ssh', follower);
  follower.stdin?.end();
  if (broken) {
    throw new ConfigError(`${shell.name} answered something rp cannot read: ${broken.message}`, {
      hint: 'is rp there the same version as here? ("rp --version" on both)',
    });
  }
  return { ...(end ? { end } : {}), exit, errorText };
}

/** `rp kill ID` on the server; its own words on failure. */
export async function killRemoteJob(session: RemoteSession, jobId: string): Promise<void> {
  const result = await session.shell.run(rpOnServer(session, ['kill', jobId]));
  if (result.exitCode !== 0) {
    throw new Error(
      (result.stderr || result.stdout).trim().replace(/^rp: /, '') || `exit ${result.exitCode}`,
    );
  }
}

/** What to print when the connection stays down: the job goes on, and how to reach it again. */
export function lostConnectionMessage(name: string, jobId: string): string {
  return [
    `rp: cannot reconnect to ${name}; ${jobName(jobId)} goes on running there`,
    `follow it with: rp logs --on ${name} ${jobId} -f    stop it with: rp kill --on ${name} ${jobId}`,
    '',
  ].join('\n');
}

/** The reconnection budget: RP_REMOTE_RECONNECT_S seconds, else DEFAULT_RECONNECT_MS. */
export function reconnectBudgetMs(env: NodeJS.ProcessEnv = process.env): number {
  const seconds = Number(env.RP_REMOTE_RECONNECT_S);
  return env.RP_REMOTE_RECONNECT_S !== undefined && Number.isFinite(seconds) && seconds >= 0
    ? seconds * 1000
    : DEFAULT_RECONNECT_MS;
}
