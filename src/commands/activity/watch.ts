import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { stopSignals } from '../../cli/signals.js';
import { connectDocker } from '../../docker/engine.js';
import { currentUser } from '../../host/identity.js';
import { requireRoot } from '../../services/activity-admin.js';
import { watchActivities } from '../../services/activity-watch.js';
import { openHostSession } from '../../services/host-session.js';
import { drainLines } from '../../ui/activities.js';
import { plainBuildProgress } from '../../ui/build-progress.js';

export default class ActivityWatch extends BaseCommand {
  static override description =
    'Serve the drop folders until stopped (root), for hosts without systemd: the drain of "rp activity drain", again every --interval seconds. Ctrl+C stops it; queued jobs run on.';

  static override examples = [
    '<%= config.bin %> activity watch',
    '<%= config.bin %> activity watch whisper --interval 1',
  ];

  static override strict = false;

  static override args = {
    names: Args.string({ description: 'only these activities (default: all)' }),
  };

  static override flags = {
    interval: Flags.integer({
      description: 'seconds between looks at the folders',
      default: 2,
      min: 1,
    }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ActivityWatch);
    requireRoot(currentUser(), '"rp activity watch"');
    const names = (argv as string[]).length > 0 ? (argv as string[]) : undefined;
    const session = await openHostSession(await connectDocker());
    const signals = stopSignals();
    process.stderr.write(`watching the drop folders every ${flags.interval} s; Ctrl+C stops\n`);
    try {
      await watchActivities({
        session,
        ...(names === undefined ? {} : { names }),
        build: plainBuildProgress(process.stderr),
        pollMs: flags.interval * 1000,
        signal: signals.signal,
        onError: (error) => {
          const at = new Date().toISOString();
          process.stderr.write(
            `${at} this pass failed, trying again: ${(error as Error).message}\n`,
          );
        },
        onPass: (pass) => {
          const at = new Date().toISOString();
          for (const line of drainLines(pass)) this.log(`${at} ${line}`);
        },
      });
    } finally {
      signals.dispose();
    }
  }
}
