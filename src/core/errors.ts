/**
 * The one error hierarchy of rp. Every failure a user can cause or meet is an RpError with a
 * message, an optional hint saying what to do, and the exit code the CLI ends with. The CLI has a
 * single catch site that renders these on stderr; anything else is a bug (exit 1).
 */

export const ExitCode = {
  ok: 0,
  bug: 1,
  usage: 2,
  config: 3,
  /** The job was stopped at its time limit (as coreutils `timeout`). */
  timeout: 124,
  /** A `--preemptible` job stopped for a booking: as SIGTERM, whether or not it stopped in time. */
  preempted: 143,
  noCapacity: 75,
  docker: 125,
} as const;

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** The shell's exit code for a process ended by `signal` (128 + its number; SIGTERM if unknown). */
export function exitCodeForSignal(signal: unknown): number {
  return 128 + (SIGNAL_NUMBERS[String(signal)] ?? 15);
}

export interface RpErrorOptions {
  hint?: string;
  cause?: unknown;
}

export class RpError extends Error {
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(message: string, exitCode: number, options: RpErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = exitCode;
    this.hint = options.hint;
  }
}

/** Bad flags or arguments. */
export class UsageError extends RpError {
  constructor(message: string, options: RpErrorOptions = {}) {
    super(message, ExitCode.usage, options);
  }
}

/** A problem with the user's project, files or host configuration. */
export class ConfigError extends RpError {
  constructor(message: string, options: RpErrorOptions = {}) {
    super(message, ExitCode.config, options);
  }
}

/** The Docker engine failed or could not be reached before the job's container started. */
export class DockerError extends RpError {
  constructor(message: string, options: RpErrorOptions = {}) {
    super(message, ExitCode.docker, options);
  }
}

/** An image build step failed. `step` is the Dockerfile step, `outputTail` its last lines. */
export class BuildError extends DockerError {
  readonly step: string | undefined;
  readonly outputTail: string[];

  constructor(
    message: string,
    details: { step?: string; outputTail?: string[] },
    options: RpErrorOptions = {},
  ) {
    super(message, options);
    this.step = details.step;
    this.outputTail = details.outputTail ?? [];
  }
}

/** The request cannot be served now and the user asked not to wait. */
export class NoCapacityError extends RpError {
  constructor(message: string, options: RpErrorOptions = {}) {
    super(message, ExitCode.noCapacity, options);
  }
}
