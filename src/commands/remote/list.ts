import { Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { listRemoteEntries, remotesFilePath } from '../../services/remotes.js';
import { renderRemotes } from '../../ui/remotes.js';

export default class RemoteList extends BaseCommand {
  static override description =
    'List the servers of rp remote add: name, ssh target, port and folder.';

  static override examples = [
    '<%= config.bin %> remote list',
    '<%= config.bin %> remote list --json',
  ];

  static override flags = {
    json: Flags.boolean({
      description: 'print [{name, target, path, port, rp}] as JSON (port null: ssh decides)',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(RemoteList);
    const file = remotesFilePath();
    const remotes = await listRemoteEntries(file);
    if (flags.json) {
      this.log(JSON.stringify(remotes, null, 2));
      return;
    }
    if (remotes.length === 0) {
      process.stderr.write(`no remotes in ${file}; add one with "rp remote add NAME USER@HOST"\n`);
      return;
    }
    for (const line of renderRemotes(remotes)) this.log(line);
  }
}
