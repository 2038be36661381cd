import { Command, Errors } from '@oclif/core';
import { ExitCode, RpError } from '../core/errors.js';
import { renderError } from './render-error.js';

/**
 * The base of every rp command and the one place errors are rendered. Commands throw RpError
 * subclasses; the exit code comes from the error. oclif's own parse errors are usage errors (2).
 */
export abstract class BaseCommand extends Command {
  protected override async catch(
    error: Error & { exitCode?: number; oclif?: { exit?: number } },
  ): Promise<void> {
    // this.exit() and --help/--version end through oclif's ExitError: let oclif handle them.
    if (error instanceof Errors.ExitError) throw error;
    const debug = /(^|,)\s*rp(:|\*|,|$)/.test(process.env.DEBUG ?? '');
    if (error instanceof RpError) {
      error.message = withoutOclifDecoration(error.message);
      process.stderr.write(renderError(error, debug));
      process.exitCode = error.exitCode;
      return;
    }
    if (error instanceof Errors.CLIError) {
      // Flag and argument parsing failures.
      const help = ['rp', this.id, '--help'].filter(Boolean).join(' ');
      process.stderr.write(`rp: ${withoutOclifDecoration(error.message)}\nhint: see ${help}\n`);
      process.exitCode = ExitCode.usage;
      return;
    }
    process.stderr.write(renderError(error, debug));
    process.exitCode = ExitCode.bug;
  }

  /** Ends the command with `code` without printing anything more. */
  protected setExitCode(code: number): void {
    process.exitCode = code;
  }
}

/** oclif wraps flag parse errors in "Parsing --flag \n\t…\nSee more help with --help". */
export function withoutOclifDecoration(message: string): string {
  return message
    .replace(/^Parsing (--\S+) \n\t/, '$1: ')
    .replace(/\nSee more help with --help$/, '')
    .replace(/\n\t/g, ': ');
}
