import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { enableCommands } from '../../core/activity-units.js';
import { currentUser } from '../../host/identity.js';
import { installUnits, SYSTEMD_UNIT_DIR } from '../../services/activity-service.js';
import { rpHomeFromEnv } from '../../services/host-files.js';

export default class ActivityInstallService extends BaseCommand {
  static override description =
    'Write the systemd units that serve the drop folders (root): rp-activities.path starts "rp activity drain" when a drop folder is not empty or a job ends, rp-activities.timer every minute as a fallback. Prints the commands that enable them.';

  static override examples = [
    '<%= config.bin %> activity install-service',
    '<%= config.bin %> activity install-service --unit-dir /tmp/units',
  ];

  static override flags = {
    'unit-dir': Flags.string({
      description: 'where to write the units',
      default: SYSTEMD_UNIT_DIR,
    }),
    json: Flags.boolean({ description: 'print the files written as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(ActivityInstallService);
    const installed = await installUnits({
      rpHome: rpHomeFromEnv(process.env),
      unitDir: flags['unit-dir'],
      caller: currentUser(),
    });
    if (flags.json) {
      this.log(JSON.stringify({ ...installed, enable: enableCommands() }, null, 2));
      return;
    }
    for (const file of installed.files) this.log(`wrote ${file}`);
    this.log('enable them with:');
    for (const command of enableCommands()) this.log(`  ${command}`);
  }
}
