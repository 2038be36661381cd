import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { readActivities } from '../../services/activity-store.js';
import { rpHomeFromEnv } from '../../services/host-files.js';
import { renderActivities } from '../../ui/activities.js';

export default class ActivityList extends BaseCommand {
  static override description = "List the host's drop-folder activities.";

  static override examples = [
    '<%= config.bin %> activity list',
    '<%= config.bin %> activity list --json',
  ];

  static override flags = {
    json: Flags.boolean({ description: 'print an array of activities as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ActivityList);
    const activities = await readActivities(rpHomeFromEnv(process.env));
    if (flags.json) this.log(JSON.stringify(activities, null, 2));
    else for (const line of renderActivities(activities)) this.log(line);
  }
}
