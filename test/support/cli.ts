import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

export const RP_BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url));

export interface RpResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface RpOptions {
  cwd: string;
  env?: Record<string, string>;
  /** Run as this Unix user (through runuser; the tests run as root). */
  asUser?: string;
}

/** Runs the built CLI as a user would, never throwing on a non-zero exit. */
export async function rp(args: string[], options: RpOptions): Promise<RpResult> {
  const [command, commandArgs] = options.asUser
    ? ['runuser', ['-u', options.asUser, '--', process.execPath, RP_BIN, ...args]]
    : [process.execPath, [RP_BIN, ...args]];
  const result = await execa(command, commandArgs, {
    cwd: options.cwd,
    env: { NO_COLOR: '1', ...options.env },
    reject: false,
    stdin: 'ignore',
  });
  return { exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr };
}
