import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { memoryFlag, shmFlag } from '../cli/flags.js';
import { stopSignals } from '../cli/signals.js';
import { connectDocker } from '../docker/engine.js';
import { currentUser } from '../host/identity.js';
import { openHostSession } from '../services/host-session.js';
import { runJob } from '../services/run-job.js';
import { createBuildProgress } from '../ui/build-progress.js';
import { createJobProgress } from '../ui/job-progress.js';

export default class Run extends BaseCommand {
  static override description =
    "Run a script of the project in its container with exclusive GPUs, pinned CPU cores and a memory limit, waiting in the host's queue until they are free. Exits with the script's exit code.";

  static override examples = [
    '<%= config.bin %> run --script="train.sh --lr 3e-4"',
    '<%= config.bin %> run --script=eval.sh --gpu 2 --cpu 8 --mem 32',
    '<%= config.bin %> run --script=prep.sh --gpu 0 --no-wait',
  ];

  static override flags = {
    script: Flags.string({
      description: 'the script to run and its arguments, e.g. "train.sh --lr 3e-4"',
      required: true,
    }),
    cpu: Flags.integer({ description: 'CPU cores (default: .rp/info.json cpu)', min: 1 }),
    gpu: Flags.integer({ description: 'GPUs (default: .rp/info.json gpus)', min: 0 }),
    mem: memoryFlag({ description: 'memory in GB (default: .rp/info.json memory)' }),
    shm: shmFlag({
      description: 'shared memory size, e.g. 8g (default: .rp/info.json docker_shm)',
    }),
    outfile_name: Flags.string({
      description: 'also write the output to .rp/logs/NAME_YYYYmmdd_HHMMSS.log',
    }),
    'no-wait': Flags.boolean({
      description: 'exit with code 75 instead of waiting when the job cannot start now',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Run);
    const engine = await connectDocker();
    await engine.ping();
    const session = await openHostSession(engine);
    const signals = stopSignals();
    try {
      const exitCode = await runJob({
        cwd: process.cwd(),
        user: currentUser(),
        script: flags.script,
        cpu: flags.cpu,
        gpus: flags.gpu,
        memoryGb: flags.mem,
        shm: flags.shm,
        noWait: flags['no-wait'],
        outfileName: flags.outfile_name,
        session,
        build: await createBuildProgress({ stream: process.stderr }),
        reporter: createJobProgress(process.stderr),
        stdout: process.stdout,
        stderr: process.stderr,
        signal: signals.signal,
      });
      this.setExitCode(exitCode);
    } finally {
      signals.dispose();
    }
  }
}
