/**
 * The one place rp starts child processes. Everything else asks this module, so timeouts and
 * "program not installed" are handled the same way everywhere.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Killed at ExecOptions.timeoutMs. */
  timedOut?: boolean;
}

export interface ExecOptions {
  /** Kill the program after this many milliseconds (it then counts as failed). */
  timeoutMs?: number;
  cwd?: string;
  input?: string;
  /** Standard input read from this file (opened by this process, so it may be one only it can read). */
  inputFile?: string;
  /** Run as this user and group (needs root), with no supplementary groups. */
  as?: { uid: number; gid: number };
}

/** Thrown when the program does not exist on this machine. */
export class ProgramNotFoundError extends Error {
  constructor(readonly program: string) {
    super(`${program} is not installed`);
  }
}

/**
 * Runs `program` with `args` (never through a shell) and returns its exit code and output.
 * A non-zero exit is a result, not an exception; a missing program throws ProgramNotFoundError.
 */
export async function runProgram(
  program: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  // Loaded on first use: listings such as `rp ps` never start a program.
  const { execa } = await import('execa');
  const result = await execa(program, args, {
    reject: false,
    timeout: options.timeoutMs,
    cwd: options.cwd,
    ...(options.inputFile === undefined
      ? { input: options.input, stdin: options.input === undefined ? 'ignore' : 'pipe' }
      : { inputFile: options.inputFile }),
    ...(options.as === undefined ? {} : { uid: options.as.uid, gid: options.as.gid }),
  });
  if (result.failed && (result.code === 'ENOENT' || /ENOENT/.test(String(result.message)))) {
    throw new ProgramNotFoundError(program);
  }
  return {
    exitCode: result.exitCode ?? (result.timedOut ? 124 : 1),
    stdout: result.stdout,
    stderr: result.stderr,
    timedOut: result.timedOut,
  };
}

export interface DetachedProcess {
  pid: number;
  /** Resolves with the exit code if the process ends while we are still here to see it. */
  exited: Promise<number | null>;
}

/**
 * Starts `program` in a session of its own (setsid), so it survives the terminal closing and the
 * ssh connection dropping, with stdout and stderr appended to `outputFile`. We do not wait for it.
 */
export function spawnDetached(
  program: string,
  args: readonly string[],
  options: { cwd: string; outputFile: string; env?: NodeJS.ProcessEnv },
): DetachedProcess {
  const fd = openSync(options.outputFile, 'a');
  try {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    const exited = new Promise<number | null>((resolve) => {
      child.on('exit', (code) => resolve(code));
      child.on('error', () => resolve(null));
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${program}`);
    return { pid: child.pid, exited };
  } finally {
    closeSync(fd);
  }
}

export interface StartOptions {
  cwd?: string;
  /** 'inherit' hands the program this process's terminal (an interactive `ssh -t`). */
  stdin?: 'ignore' | 'inherit' | 'pipe';
  stdout?: 'pipe' | 'inherit' | 'ignore';
  stderr?: 'pipe' | 'inherit' | 'ignore';
  /**
   * In a process group of its own: Ctrl+C at the terminal reaches rp only, which then decides
   * what the program should do (an ssh that must finish killing a remote job is not cut first).
   */
  ownGroup?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface ProgramExit {
  /** Null when a signal ended it. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningProgram {
  pid: number | undefined;
  stdout: NodeJS.ReadableStream | null;
  stderr: NodeJS.ReadableStream | null;
  stdin: NodeJS.WritableStream | null;
  /** Resolves when it has exited and its output has been read; rejects ProgramNotFoundError. */
  exited: Promise<ProgramExit>;
  kill(signal?: NodeJS.Signals): void;
}

/**
 * Starts `program` with `args` (never through a shell) and hands back its output as streams, for
 * output that must reach the user while the program runs (an rsync, a followed remote log).
 */
export function startProgram(
  program: string,
  args: readonly string[],
  options: StartOptions = {},
): RunningProgram {
  const child = spawn(program, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: options.ownGroup ?? false,
    stdio: [options.stdin ?? 'ignore', options.stdout ?? 'pipe', options.stderr ?? 'pipe'],
  });
  const exited = new Promise<ProgramExit>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? new ProgramNotFoundError(program) : error);
    });
    // 'close': the program has exited and its stdout and stderr are drained.
    child.once('close', (exitCode, signal) => resolve({ exitCode, signal }));
  });
  return {
    pid: child.pid,
    stdout: child.stdout,
    stderr: child.stderr,
    stdin: child.stdin,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}
