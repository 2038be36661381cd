import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { formatCapacity, formatLimits } from '../../core/host-config.js';
import { formatMemory, plural } from '../../core/units.js';
import { connectDocker } from '../../docker/engine.js';
import { initHost, rpHomeFromEnv } from '../../services/host-setup.js';

export class HostInit extends BaseCommand {
  static override description =
    'Prepare the host directory ($RP_HOME, default /var/lib/rp) and its queue folder for every member of the docker group, write a default config.json (writable by root only) and detect the machine.';

  static override examples = [
    'sudo <%= config.bin %> host init',
    'RP_HOME=/srv/rp sudo -E <%= config.bin %> host init',
    'sudo <%= config.bin %> host init --force',
  ];

  static override flags = {
    force: Flags.boolean({
      description: 'replace an existing config.json with the defaults',
      default: false,
    }),
    json: Flags.boolean({
      description: 'print what was set up and detected as JSON',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(HostInit);
    const result = await initHost({
      rpHome: rpHomeFromEnv(process.env),
      force: flags.force,
      engine: await connectDocker(),
    });
    for (const warning of result.warnings) process.stderr.write(`rp: warning: ${warning}\n`);
    if (flags.json) {
      this.log(JSON.stringify(result, null, 2));
      return;
    }
    const group = result.group === undefined ? '' : `group ${result.group.name}, `;
    this.log(
      `${result.directory === 'created' ? 'created' : 'prepared'} ${result.paths.home} (mode ${result.mode}) ` +
        `and its queue folder ${result.paths.queue} (${group}mode ${result.queueMode})`,
    );
    this.log(
      `${result.config === 'written' ? 'wrote' : 'replaced'} ${result.paths.config} with the defaults`,
    );
    const found = result.inventory;
    this.log(
      `detected: ${plural(found.gpus?.length ?? 0, 'GPU')}, ${plural(found.cpuCount, 'CPU core')}, ${formatMemory(found.memoryTotalMb)} memory`,
    );
    this.log('');
    for (const line of formatCapacity(result.capacity)) this.log(line);
    for (const line of formatLimits(result.limits)) this.log(line);
    this.log('');
    this.log(
      `next: edit ${result.paths.config} to set capacity or per-user limits, then "rp host show"`,
    );
  }
}
