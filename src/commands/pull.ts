import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { stopSignals } from '../cli/signals.js';
import { UsageError } from '../core/errors.js';
import { bareOnAsDefault } from '../core/remote-command.js';
import { remotePull } from '../services/remote-run.js';

export default class Pull extends BaseCommand {
  static override description =
    "Copy the project's output/ from a server back into output/ here (rsync over ssh; nothing here is deleted). With a job id, that job's log files come into .rp/logs/ too.";

  static override examples = [
    '<%= config.bin %> pull --on gpu1',
    '<%= config.bin %> pull --on gpu1 1234',
  ];

  static override args = {
    id: Args.string({ description: "also copy this job's log files (e.g. 1234)" }),
  };

  static override flags = {
    on: Flags.string({
      description:
        'the server, a NAME of "rp remote list" (a bare --on, or none: the remote named in .rp/remote.json)',
      helpValue: '<NAME>',
    }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Pull, bareOnAsDefault(this.argv));
    const jobId = args.id?.replace(/^rp/, '');
    if (jobId !== undefined && !/^\d{4}(?:_\d+)?$/.test(jobId)) {
      throw new UsageError(`"${args.id}" is not a job id`, {
        hint: 'job ids have four digits, e.g. 1234',
      });
    }
    const signals = stopSignals();
    try {
      const exitCode = await remotePull({
        remote: flags.on ?? '',
        cwd: process.cwd(),
        ...(jobId === undefined ? {} : { jobId }),
        stdout: process.stdout,
        stderr: process.stderr,
        signal: signals.signal,
      });
      this.setExitCode(exitCode);
    } finally {
      signals.dispose();
    }
  }
}
