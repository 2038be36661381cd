import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { rpHomeFromEnv, showHost } from '../../services/host-setup.js';
import { renderHostReport } from '../../ui/host-report.js';

export class HostShow extends BaseCommand {
  static override description =
    "Show this host's capacity for jobs (from the stored inventory), the per-user limits and where the ledger and history live.";

  static override examples = ['<%= config.bin %> host show', '<%= config.bin %> host show --json'];

  static override flags = {
    json: Flags.boolean({ description: 'print the same as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(HostShow);
    const report = await showHost({ rpHome: rpHomeFromEnv(process.env) });
    for (const warning of report.warnings) process.stderr.write(`rp: warning: ${warning}\n`);
    if (flags.json) {
      this.log(JSON.stringify(report, null, 2));
      return;
    }
    for (const line of renderHostReport(report)) this.log(line);
  }
}
