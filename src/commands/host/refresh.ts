import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { rpHomeFromEnv, refreshHost } from '../../services/host-setup.js';
import { renderHostReport } from '../../ui/host-report.js';

export class HostRefresh extends BaseCommand {
  static override description =
    "Detect this machine's GPUs, cores and memory again and store them for every rp process. A GPU detection that fails or times out keeps the GPUs known before. Run it after adding or removing GPUs.";

  static override examples = [
    '<%= config.bin %> host refresh',
    '<%= config.bin %> host refresh --json',
  ];

  static override flags = {
    json: Flags.boolean({ description: 'print the same as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(HostRefresh);
    const report = await refreshHost({ rpHome: rpHomeFromEnv(process.env) });
    for (const warning of report.warnings) process.stderr.write(`rp: warning: ${warning}\n`);
    if (flags.json) {
      this.log(JSON.stringify(report, null, 2));
      return;
    }
    for (const line of renderHostReport(report)) this.log(line);
  }
}
