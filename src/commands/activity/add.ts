import { hostname } from 'node:os';
import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../cli/base-command.js';
import { optionalMemoryFlag, timeFlag } from '../../cli/flags.js';
import { currentUser } from '../../host/identity.js';
import { addActivity } from '../../services/activity-admin.js';
import { refreshInstalledUnits, SYSTEMD_UNIT_DIR } from '../../services/activity-service.js';
import { rpHomeFromEnv } from '../../services/host-files.js';
import { describeAdded } from '../../ui/activities.js';

export default class ActivityAdd extends BaseCommand {
  static override description =
    "Define a drop-folder activity (root): every file a user copies into its drop folder runs as a job of that user, with the project's image and the script, and the results land in the user's ~/rp-output/NAME/. Creates the drop folder (mode 1733: anyone may add a file, nobody may list or take another's).";

  static override examples = [
    '<%= config.bin %> activity add whisper --project /srv/rp/whisper --script transcribe.sh --gpu 1 --cpu 4 --mem 16 --time 2h --accept "*.wav,*.mp3" --max-size 2G',
    '<%= config.bin %> activity add wordcount --project /srv/rp/wordcount --script count.sh --drop-dir /var/srvrs/wordcount',
  ];

  static override args = {
    name: Args.string({
      description: 'the activity: lowercase letters, digits and "-"',
      required: true,
    }),
  };

  static override flags = {
    project: Flags.string({
      description: 'the rp project whose docker/ builds the image',
      required: true,
    }),
    script: Flags.string({
      description:
        'the script of the project each job runs, with its arguments; it reads $RP_INPUT and writes to $RP_OUTPUT',
      required: true,
    }),
    gpu: Flags.integer({ description: "GPUs of each job (default: the project's)", min: 0 }),
    cpu: Flags.integer({ description: "CPU cores of each job (default: the project's)", min: 1 }),
    mem: optionalMemoryFlag({ description: "memory of each job in GB (default: the project's)" }),
    time: timeFlag,
    accept: Flags.string({ description: 'only names matching these patterns, e.g. "*.wav,*.mp3"' }),
    'max-size': Flags.string({ description: 'refuse files larger than this, e.g. 2G' }),
    'keep-input': Flags.boolean({
      description: 'keep the input in the output folder after a success (default: remove it)',
      default: false,
    }),
    'stable-seconds': Flags.integer({
      description:
        'a file is complete once unchanged for this long (default 5), or NAME.done appears',
      min: 0,
    }),
    'drop-dir': Flags.string({ description: 'the drop folder (default: $RP_HOME/drop/NAME)' }),
    json: Flags.boolean({ description: 'print the activity as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ActivityAdd);
    const rpHome = rpHomeFromEnv(process.env);
    const me = currentUser();
    const activity = await addActivity({
      rpHome,
      name: args.name,
      project: flags.project,
      script: flags.script,
      gpus: flags.gpu,
      cpus: flags.cpu,
      memoryGb: flags.mem,
      time: flags.time,
      accept: flags.accept,
      maxSize: flags['max-size'],
      keepInput: flags['keep-input'],
      stableSeconds: flags['stable-seconds'],
      dropDir: flags['drop-dir'],
      caller: me,
      now: new Date(),
    });
    const caller = { uid: me.uid };
    if (await refreshInstalledUnits({ rpHome, unitDir: SYSTEMD_UNIT_DIR, caller })) {
      process.stderr.write('rewrote the systemd units: run "systemctl daemon-reload"\n');
    }
    if (flags.json) this.log(JSON.stringify(activity, null, 2));
    else for (const line of describeAdded(activity, hostname())) this.log(line);
  }
}
