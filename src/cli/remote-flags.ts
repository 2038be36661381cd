import { Flags } from '@oclif/core';
import { UsageError } from '../core/errors.js';
import { DEFAULT_MAX_UPLOAD, parseUploadLimit, serverArgs } from '../core/remote-command.js';
import { formatBytes } from '../core/units.js';
import { stopSignals } from './signals.js';

/** `--on NAME`: run the command on a server of `rp remote list`; a bare `--on`, .rp/remote.json's. */
export const onFlag = Flags.string({
  description:
    'run this on the server NAME of "rp remote list", over ssh (a bare --on: the remote named in .rp/remote.json)',
  helpValue: '<NAME>',
});

/** The sync flags of the commands that send the project first (`rp run --on`, `rp enter --on`). */
export const syncFlags = {
  'sync-output': Flags.boolean({
    description: 'with --on: also send output/, .cache/ and .rp/logs/ (never deleting any there)',
    default: false,
  }),
  'max-upload': Flags.custom<number>({
    description: `with --on: refuse to send more than this (default ${formatBytes(DEFAULT_MAX_UPLOAD)}), e.g. 500m, 4g`,
    helpValue: '<SIZE>',
    parse: async (input) => {
      const bytes = parseUploadLimit(input);
      if (bytes === undefined)
        throw new UsageError(`must be a size such as 500m or 4g, got "${input}"`);
      return bytes;
    },
  })(),
};

/** Refuses the sync flags without --on: they mean nothing for a local job. */
export function checkSyncFlags(flags: {
  on?: string;
  'sync-output': boolean;
  'max-upload'?: number;
}): void {
  if (flags.on !== undefined) return;
  const given = flags['sync-output']
    ? '--sync-output'
    : flags['max-upload'] !== undefined
      ? '--max-upload'
      : undefined;
  if (given)
    throw new UsageError(`${given} applies only with --on`, {
      hint: 'e.g. rp run --on gpu1 ' + given,
    });
}

/** What `rp run --on` and `rp enter --on` hand the remote services alike. */
export interface RemoteCall {
  cwd: string;
  /** The command's own arguments, as the server's rp is to get them. */
  args: string[];
  syncOutput: boolean;
  maxUploadBytes: number;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Aborted by Ctrl+C (or SIGTERM, SIGHUP): the remote job is stopped too. */
  signal: AbortSignal;
}

/**
 * Runs `call` for a command given `--on`, with this terminal and Ctrl+C handed to it; returns the
 * exit code to end with.
 */
export async function callRemote(
  flags: { 'sync-output': boolean; 'max-upload'?: number },
  argv: string[],
  call: (common: RemoteCall) => Promise<number>,
): Promise<number> {
  const signals = stopSignals();
  try {
    return await call({
      cwd: process.cwd(),
      args: serverArgs(argv),
      syncOutput: flags['sync-output'],
      maxUploadBytes: flags['max-upload'] ?? DEFAULT_MAX_UPLOAD,
      stdout: process.stdout,
      stderr: process.stderr,
      signal: signals.signal,
    });
  } finally {
    signals.dispose();
  }
}
