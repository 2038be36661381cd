/**
 * The one place rp starts child processes. Everything else asks this module, so timeouts and
 * "program not installed" are handled the same way everywhere.
 */
import { execa } from 'execa';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Kill the program after this many milliseconds (it then counts as failed). */
  timeoutMs?: number;
  cwd?: string;
  input?: string;
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
  const result = await execa(program, args, {
    reject: false,
    timeout: options.timeoutMs,
    cwd: options.cwd,
    input: options.input,
    stdin: options.input === undefined ? 'ignore' : 'pipe',
  });
  if (result.failed && (result.code === 'ENOENT' || /ENOENT/.test(String(result.message)))) {
    throw new ProgramNotFoundError(program);
  }
  return {
    exitCode: result.exitCode ?? (result.timedOut ? 124 : 1),
    stdout: result.stdout,
    stderr: result.stderr,
  };
}
