import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { describeKillResult, parseKillTarget } from '../core/kill.js';
import { connectDocker } from '../docker/engine.js';
import { currentUser } from '../host/identity.js';
import { openHostSession } from '../services/host-session.js';
import { killJob } from '../services/kill-job.js';

export default class Kill extends BaseCommand {
  static override description =
    "Kill one of your jobs: a waiting one leaves the queue, a running one's container is stopped (SIGTERM, 10 s grace, then SIGKILL) and its resources released. Root may kill anyone's job.";

  static override examples = [
    '<%= config.bin %> kill 1234',
    '<%= config.bin %> kill pid=1234',
    '<%= config.bin %> kill --pid 1234 --json',
  ];

  static override args = {
    job: Args.string({
      description: 'the job id, as in "waiting to be scheduled as rp1234": 1234 or pid=1234',
    }),
  };

  static override flags = {
    pid: Flags.string({ description: 'the job id (instead of the argument)', helpValue: '<ID>' }),
    json: Flags.boolean({ description: 'print what was done as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Kill);
    const id = parseKillTarget({ argument: args.job, pidFlag: flags.pid });
    const engine = await connectDocker();
    await engine.ping();
    const session = await openHostSession(engine);
    const result = await killJob({ id, requester: currentUser(), session });
    if (flags.json) this.log(JSON.stringify(result, null, 2));
    else this.log(describeKillResult(result));
    if (result.cleanup === 'pending') {
      process.stderr.write(
        `rp: warning: job ${id}'s rp run still holds its resources; it releases them when it sees the container stopped\n`,
      );
    }
  }
}
