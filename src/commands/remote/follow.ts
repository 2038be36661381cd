import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { stopSignals } from '../../cli/signals.js';
import { connectDocker } from '../../docker/engine.js';
import { openHostSession } from '../../services/host-session.js';
import { streamJobFrames } from '../../services/job-frames.js';

/**
 * Run on the server by a laptop's `rp run --on` and `rp logs --on -f`, over ssh: the job's output
 * from the given byte offsets, as frames (src/core/log-frames.ts), until the job ends.
 */
export default class RemoteFollow extends BaseCommand {
  static override hidden = true;

  static override description =
    "Stream a job's stdout and stderr from byte offsets as frames, for a laptop's rp (internal).";

  static override args = {
    id: Args.string({ description: 'the job id', required: true }),
  };

  static override flags = {
    'stdout-from': Flags.integer({ min: 0, default: 0 }),
    'stderr-from': Flags.integer({ min: 0, default: 0 }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RemoteFollow);
    const signals = stopSignals();
    // The laptop keeps our stdin open; it ends when the laptop (or its ssh) is gone.
    const gone = new AbortController();
    const stop = (): void => gone.abort('SIGHUP');
    process.stdin.on('end', stop).on('close', stop).on('error', stop).resume();
    try {
      const session = await openHostSession(await connectDocker());
      await streamJobFrames(session, {
        jobId: args.id.replace(/^rp/, ''),
        from: { stdout: flags['stdout-from'], stderr: flags['stderr-from'] },
        output: process.stdout,
        signal: AbortSignal.any([signals.signal, gone.signal]),
      });
    } finally {
      signals.dispose();
      process.stdin.destroy();
    }
  }
}
