import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { connectDocker } from '../../docker/engine.js';
import { activityStatus } from '../../services/activity-status.js';
import { openHostSession } from '../../services/host-session.js';
import { renderActivityStatus } from '../../ui/activities.js';

export default class ActivityStatus extends BaseCommand {
  static override description =
    'Per activity: files still arriving (root only), queued and running jobs, and the last failures.';

  static override examples = [
    '<%= config.bin %> activity status',
    '<%= config.bin %> activity status whisper --json',
  ];

  static override args = { name: Args.string({ description: 'only this activity' }) };

  static override flags = {
    json: Flags.boolean({ description: 'print an array of statuses as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ActivityStatus);
    const session = await openHostSession(await connectDocker());
    const statuses = await activityStatus(
      session,
      args.name === undefined ? undefined : [args.name],
    );
    if (flags.json) this.log(JSON.stringify(statuses, null, 2));
    else for (const line of renderActivityStatus(statuses)) this.log(line);
  }
}
