import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { onFlag } from '../cli/remote-flags.js';
import { stopSignals } from '../cli/signals.js';
import { UsageError } from '../core/errors.js';
import { bareOnAsDefault } from '../core/remote-command.js';
import { connectDocker } from '../docker/engine.js';
import { openHostSession } from '../services/host-session.js';
import { printLogsFromItsBackend } from '../services/job-routing.js';
import { rpHomeFromEnv } from '../services/host-files.js';

export default class Logs extends BaseCommand {
  static override description =
    'Print the output of a job started with --detach or --outfile_name: queued, running or finished. With -f, follow it until the job ends.';

  static override examples = [
    '<%= config.bin %> logs 1234',
    '<%= config.bin %> logs 1234 -f',
    '<%= config.bin %> logs 1234_7',
    '<%= config.bin %> logs --on gpu1 1234 -f',
  ];

  static override args = {
    id: Args.string({ description: 'the job id, e.g. 1234 (or rp1234)', required: true }),
  };

  static override flags = {
    follow: Flags.boolean({
      char: 'f',
      description: 'keep printing new output until the job ends',
      default: false,
    }),
    on: onFlag,
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logs, bareOnAsDefault(this.argv));
    const jobId = args.id.replace(/^rp/, '');
    if (!/^\d{4}(?:_\d+)?$/.test(jobId)) {
      throw new UsageError(`"${args.id}" is not a job id`, {
        hint: 'job ids have four digits, e.g. 1234; a task of an array is 1234_7',
      });
    }
    const signals = stopSignals();
    try {
      if (flags.on !== undefined) {
        const { remoteLogs } = await import('../services/remote-run.js');
        const { reconnectBudgetMs } = await import('../services/remote-follow.js');
        const io = { stdout: process.stdout, stderr: process.stderr, signal: signals.signal };
        const options = { remote: flags.on, cwd: process.cwd(), jobId, follow: flags.follow };
        this.setExitCode(
          await remoteLogs({ ...options, ...io, reconnectBudgetMs: reconnectBudgetMs() }),
        );
        return;
      }
      const host = {
        rpHome: rpHomeFromEnv(process.env),
        open: async () => openHostSession(await connectDocker()),
      };
      await printLogsFromItsBackend(host, {
        jobId,
        follow: flags.follow,
        output: process.stdout,
        errorOutput: process.stderr,
        signal: signals.signal,
      });
    } finally {
      signals.dispose();
    }
  }
}
