import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { stopSignals } from '../../cli/signals.js';
import { connectDocker } from '../../docker/engine.js';
import { currentUser } from '../../host/identity.js';
import { requireRoot } from '../../services/activity-admin.js';
import { drainUntilSettled } from '../../services/activity-watch.js';
import { openHostSession } from '../../services/host-session.js';
import { drainLines } from '../../ui/activities.js';
import { plainBuildProgress } from '../../ui/build-progress.js';

export default class ActivityDrain extends BaseCommand {
  static override description =
    'Serve the drop folders once (root; what the systemd units run): settle the inputs of ended jobs, queue every complete file as a job of its owner, refuse what may not run; return when no file is still arriving.';

  static override examples = [
    '<%= config.bin %> activity drain',
    '<%= config.bin %> activity drain whisper --json',
  ];

  static override strict = false;

  static override args = {
    names: Args.string({ description: 'only these activities (default: all)' }),
  };

  static override flags = {
    json: Flags.boolean({ description: 'print what was done as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(ActivityDrain);
    requireRoot(currentUser(), '"rp activity drain"');
    const names = (argv as string[]).length > 0 ? (argv as string[]) : undefined;
    const session = await openHostSession(await connectDocker());
    const signals = stopSignals();
    try {
      const report = await drainUntilSettled({
        session,
        ...(names === undefined ? {} : { names }),
        build: plainBuildProgress(process.stderr),
        pollMs: 1_000,
        signal: signals.signal,
        onPass: (pass) => {
          if (!flags.json) for (const line of drainLines(pass)) this.log(line);
        },
      });
      if (flags.json) this.log(JSON.stringify(report, null, 2));
    } finally {
      signals.dispose();
    }
  }
}
