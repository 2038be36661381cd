import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { onFlag } from '../cli/remote-flags.js';
import { bareOnAsDefault, serverArgs } from '../core/remote-command.js';
import { connectDocker } from '../docker/engine.js';
import { openHostSession } from '../services/host-session.js';
import { queueOfEveryBackend } from '../services/every-backend-listing.js';
import { renderQueue } from '../ui/tables.js';
import { backendJobsSection, withBackendJobs } from '../ui/backend-jobs.js';

export class Queue extends BaseCommand {
  static override description =
    "Show the host's queue in the order the scheduler serves it: who waits, what each job asks for, what it waits for and since when. Dead jobs' entries are removed first.";

  static override examples = ['<%= config.bin %> queue', '<%= config.bin %> queue --json'];

  static override flags = {
    json: Flags.boolean({
      description: 'print {queue} as JSON (MiB, ISO times)',
      default: false,
    }),
    expand: Flags.boolean({
      description: 'one line per task of an array (default: one line per array)',
      default: false,
    }),
    on: onFlag,
  };

  async run(): Promise<void> {
    const argv = bareOnAsDefault(this.argv);
    const { flags } = await this.parse(Queue, argv);
    if (flags.on !== undefined) {
      const remoteArgs = ['queue', ...serverArgs(argv)];
      // Loaded only here: a local listing or kill needs none of the ssh and sync code
      const { remoteCommand } = await import('../services/remote-run.js');
      this.setExitCode(
        await remoteCommand({ remote: flags.on, cwd: process.cwd(), args: remoteArgs }),
      );
      return;
    }
    // No ping: a listing should show even when Docker does not answer (reaping then waits).
    const session = await openHostSession(await connectDocker());
    const { view, elsewhere } = await queueOfEveryBackend(session, session.clock.now(), {
      expand: flags.expand,
    });
    if (flags.json) {
      this.log(JSON.stringify(withBackendJobs(view, elsewhere), null, 2));
      return;
    }
    const lines = [
      ...renderQueue(view.queue, { backendColumn: elsewhere !== undefined }),
      ...backendJobsSection(elsewhere),
    ];
    for (const line of lines) this.log(line);
  }
}
