import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { readActivity } from '../../services/activity-store.js';
import { rpHomeFromEnv } from '../../services/host-files.js';
import { describeActivity } from '../../ui/activities.js';

export default class ActivityShow extends BaseCommand {
  static override description =
    'Show a drop-folder activity: its folder, script, resources and rules.';

  static override examples = [
    '<%= config.bin %> activity show whisper',
    '<%= config.bin %> activity show whisper --json',
  ];

  static override args = { name: Args.string({ description: 'the activity', required: true }) };

  static override flags = {
    json: Flags.boolean({ description: 'print the activity as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ActivityShow);
    const activity = await readActivity(rpHomeFromEnv(process.env), args.name);
    if (flags.json) this.log(JSON.stringify(activity, null, 2));
    else for (const line of describeActivity(activity)) this.log(line);
  }
}
