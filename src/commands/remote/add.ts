import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { DEFAULT_REMOTE_PATH } from '../../core/remotes.js';
import { addRemoteEntry, remotesFilePath } from '../../services/remotes.js';

export default class RemoteAdd extends BaseCommand {
  static override description =
    'Name a server to run jobs on from this machine with --on NAME. TARGET is what you would give ssh: host, user@host or a Host alias of ~/.ssh/config. Stored in ~/.config/rp/remotes.json (RP_REMOTES_FILE).';

  static override examples = [
    '<%= config.bin %> remote add gpu1 me@gpu1.lab.example',
    "<%= config.bin %> remote add gpu1 gpu1 --path '~/work/rp' --port 2222",
  ];

  static override args = {
    name: Args.string({ description: 'the name --on will use, e.g. gpu1', required: true }),
    target: Args.string({ description: 'the ssh destination', required: true }),
  };

  static override flags = {
    path: Flags.string({
      description: `the folder on the server holding the projects (each in PATH/<project name>)`,
      default: DEFAULT_REMOTE_PATH,
      helpValue: '<PATH>',
    }),
    port: Flags.integer({
      description: "the ssh port (default: 22, or the Port of ~/.ssh/config's alias)",
      min: 1,
      max: 65535,
    }),
    rp: Flags.string({
      description:
        'how rp is run on the server when it is not on the PATH of a non-interactive ssh command, e.g. /opt/rp/bin/run.js',
      helpValue: '<COMMAND>',
    }),
    force: Flags.boolean({ description: 'replace a remote of the same name', default: false }),
    json: Flags.boolean({ description: 'print the remote as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(RemoteAdd);
    const file = remotesFilePath();
    const added = await addRemoteEntry(
      file,
      {
        name: args.name,
        target: args.target,
        path: flags.path,
        ...(flags.port === undefined ? {} : { port: flags.port }),
        ...(flags.rp === undefined ? {} : { rp: flags.rp }),
      },
      flags.force,
    );
    if (flags.json) this.log(JSON.stringify(added, null, 2));
    else this.log(`added ${added.name}: ${added.target}, projects in ${added.path} (${file})`);
  }
}
