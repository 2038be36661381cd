import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { remotesFilePath, removeRemoteEntry } from '../../services/remotes.js';

export default class RemoteRemove extends BaseCommand {
  static override description =
    'Forget a server of rp remote add (nothing on the server is touched).';

  static override examples = ['<%= config.bin %> remote remove gpu1'];

  static override args = {
    name: Args.string({ description: 'the remote to forget', required: true }),
  };

  static override flags = {
    json: Flags.boolean({ description: 'print {removed: NAME} as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RemoteRemove);
    await removeRemoteEntry(remotesFilePath(), args.name);
    if (flags.json) this.log(JSON.stringify({ removed: args.name }));
    else this.log(`removed ${args.name}`);
  }
}
