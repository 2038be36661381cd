import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { connectDocker } from '../../docker/engine.js';
import { currentUser } from '../../host/identity.js';
import { removeActivity } from '../../services/activity-admin.js';
import { refreshInstalledUnits, SYSTEMD_UNIT_DIR } from '../../services/activity-service.js';
import { openHostSession } from '../../services/host-session.js';

export default class ActivityRemove extends BaseCommand {
  static override description =
    "Remove a drop-folder activity and its folders (root). Refused while any of its jobs is live or any user's file is still in its folders.";

  static override examples = ['<%= config.bin %> activity remove whisper'];

  static override args = { name: Args.string({ description: 'the activity', required: true }) };

  static override flags = {
    json: Flags.boolean({ description: 'print the removed activity as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ActivityRemove);
    const session = await openHostSession(await connectDocker());
    const caller = { uid: currentUser().uid };
    const removed = await removeActivity({ session, name: args.name, caller });
    if (
      await refreshInstalledUnits({ rpHome: session.rpHome, unitDir: SYSTEMD_UNIT_DIR, caller })
    ) {
      process.stderr.write('rewrote the systemd units: run "systemctl daemon-reload"\n');
    }
    if (flags.json) this.log(JSON.stringify(removed, null, 2));
    else this.log(`Removed the activity "${removed.name}" and its drop folder ${removed.dropDir}.`);
  }
}
