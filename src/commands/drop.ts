import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { dropFile, dropFileOn } from '../services/drop-file.js';
import { rpHomeFromEnv } from '../services/host-files.js';

export default class Drop extends BaseCommand {
  static override description =
    "Drop a file into an activity's folder, on this host or on a server (--host), as scp would, but never half a file: it is copied under a temporary name and renamed when complete. The job runs as you; its results land in ~/rp-output/ACTIVITY/.";

  static override examples = [
    '<%= config.bin %> drop whisper talk.wav --host gpu1',
    '<%= config.bin %> drop whisper talk.wav',
    '<%= config.bin %> drop wordcount notes.txt --json',
  ];

  static override args = {
    activity: Args.string({ description: 'the activity ("rp activity list")', required: true }),
    file: Args.string({ description: 'the file to drop', required: true }),
  };

  static override flags = {
    host: Flags.string({
      description: 'drop it on this server: a remote of "rp remote add" (rsync over ssh)',
      aliases: ['on'],
    }),
    json: Flags.boolean({ description: 'print where the file went as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Drop);
    const dropped =
      flags.host !== undefined
        ? await dropFileOn({
            host: flags.host,
            cwd: process.cwd(),
            activity: args.activity,
            file: args.file,
          })
        : await dropFile({
            rpHome: rpHomeFromEnv(process.env),
            activity: args.activity,
            file: args.file,
          });
    if (flags.json) this.log(JSON.stringify(dropped, null, 2));
    else
      this.log(`dropped into ${dropped.path}; "rp activity status ${dropped.activity}" shows it`);
  }
}
