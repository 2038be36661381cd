import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { onFlag } from '../cli/remote-flags.js';
import { bareOnAsDefault, serverArgs } from '../core/remote-command.js';
import { connectDocker } from '../docker/engine.js';
import { openHostSession } from '../services/host-session.js';
import { statusOfEveryBackend } from '../services/every-backend-listing.js';
import { renderHostStatus } from '../ui/tables.js';
import { backendJobsSection, withBackendJobs } from '../ui/backend-jobs.js';

export class Ps extends BaseCommand {
  static override description =
    "Show what this host lends and what is in use, every running job with its GPUs, cores and memory, then the queue in the order it will be served. Dead jobs' entries are removed first.";

  static override aliases = ['status'];

  static override examples = ['<%= config.bin %> ps', '<%= config.bin %> ps --json'];

  static override flags = {
    json: Flags.boolean({
      description: 'print {capacity, used, running, queue} as JSON (MiB, ISO times, id arrays)',
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
    const { flags } = await this.parse(Ps, argv);
    if (flags.on !== undefined) {
      const remoteArgs = ['ps', ...serverArgs(argv)];
      // Loaded only here: a local listing or kill needs none of the ssh and sync code
      const { remoteCommand } = await import('../services/remote-run.js');
      this.setExitCode(
        await remoteCommand({ remote: flags.on, cwd: process.cwd(), args: remoteArgs }),
      );
      return;
    }
    // No ping: a listing should show even when Docker does not answer (reaping then waits).
    const session = await openHostSession(await connectDocker());
    const { view: status, elsewhere } = await statusOfEveryBackend(session, session.clock.now(), {
      expand: flags.expand,
    });
    if (flags.json) {
      this.log(JSON.stringify(withBackendJobs(status, elsewhere), null, 2));
      return;
    }
    const lines = [
      ...renderHostStatus(status, { backendColumn: elsewhere !== undefined }),
      ...backendJobsSection(elsewhere),
    ];
    for (const line of lines) this.log(line);
  }
}
