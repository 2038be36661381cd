import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { onFlag } from '../cli/remote-flags.js';
import { bareOnAsDefault, serverArgs } from '../core/remote-command.js';
import { MAX_KILL_GRACE_SECONDS, parseKillTarget } from '../core/kill.js';
import { connectDocker } from '../docker/engine.js';
import { currentUser } from '../host/identity.js';
import { openHostSession } from '../services/host-session.js';
import { rpHomeFromEnv } from '../services/host-files.js';
import { killOnItsBackend } from '../services/job-routing.js';

export default class Kill extends BaseCommand {
  static override description =
    "Kill one of your jobs (or a whole array, or one of its tasks): a waiting one leaves the queue, a running one's container is stopped (SIGTERM, 10 s grace or --grace, then SIGKILL) and its resources released. Root may kill anyone's job.";

  static override examples = [
    '<%= config.bin %> kill 1234',
    '<%= config.bin %> kill pid=1234',
    '<%= config.bin %> kill --pid 1234 --json',
    '<%= config.bin %> kill 1234_7',
    '<%= config.bin %> kill 1234 --grace 60',
  ];

  static override args = {
    job: Args.string({
      description:
        'the job id, as in "waiting to be scheduled as rp1234": 1234 or pid=1234; an array id ends all its tasks, 1234_7 one task',
    }),
  };

  static override flags = {
    pid: Flags.string({ description: 'the job id (instead of the argument)', helpValue: '<ID>' }),
    json: Flags.boolean({
      description: 'print what was done as JSON: an object for a job, a list for an array',
      default: false,
    }),
    grace: Flags.integer({
      description:
        "seconds a running job gets between SIGTERM and SIGKILL (default 10; a Slurm job's own, set at submit; Slurm's KillWait bounds it there)",
      min: 0,
      max: MAX_KILL_GRACE_SECONDS,
      helpValue: '<SECONDS>',
    }),
    on: onFlag,
  };

  async run(): Promise<void> {
    const argv = bareOnAsDefault(this.argv);
    const { args, flags } = await this.parse(Kill, argv);
    if (flags.on !== undefined) {
      const remoteArgs = ['kill', ...serverArgs(argv)];
      // Loaded only here: a local listing or kill needs none of the ssh and sync code
      const { remoteCommand } = await import('../services/remote-run.js');
      this.setExitCode(
        await remoteCommand({ remote: flags.on, cwd: process.cwd(), args: remoteArgs }),
      );
      return;
    }
    const id = parseKillTarget({ argument: args.job, pidFlag: flags.pid });
    const host = {
      rpHome: rpHomeFromEnv(process.env),
      open: async () => {
        const engine = await connectDocker();
        await engine.ping();
        return openHostSession(engine);
      },
    };
    const report = await killOnItsBackend(host, id, {
      requester: currentUser(),
      ...(flags.grace === undefined ? {} : { graceSeconds: flags.grace }),
    });
    if (flags.json) this.log(JSON.stringify(report.json, null, 2));
    else for (const line of report.lines) this.log(line);
    for (const warning of report.warnings) process.stderr.write(`rp: warning: ${warning}\n`);
    for (const label of report.pendingCleanup) {
      process.stderr.write(
        `rp: warning: job ${label}'s supervisor still holds its resources; it releases them when it sees the container stopped\n`,
      );
    }
  }
}
