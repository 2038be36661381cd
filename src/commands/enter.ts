import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { memoryFlag, shmFlag, signalFlag, timeFlag } from '../cli/flags.js';
import { callRemote, checkSyncFlags, onFlag, syncFlags } from '../cli/remote-flags.js';
import { stopSignals } from '../cli/signals.js';
import { UsageError } from '../core/errors.js';
import { bareOnAsDefault } from '../core/remote-command.js';
import { connectDocker } from '../docker/engine.js';
import { currentUser } from '../host/identity.js';
import { openHostSession } from '../services/host-session.js';
import { prepareJob, submitJob } from '../services/job-submission.js';
import { superviseJob } from '../services/run-job.js';
import { createBuildProgress } from '../ui/build-progress.js';
import { createJobProgress } from '../ui/job-progress.js';
import { isInteractive, openTerminal } from '../ui/terminal.js';

export default class Enter extends BaseCommand {
  static override description =
    "Open an interactive bash in the project's container, with the same queue and resource limits as rp run. Needs a terminal.";

  static override examples = [
    '<%= config.bin %> enter',
    '<%= config.bin %> enter --gpu 1 --cpu 4 --mem 16',
    '<%= config.bin %> enter --time 2h',
    '<%= config.bin %> enter --on gpu1',
  ];

  static override flags = {
    cpu: Flags.integer({ description: 'CPU cores (default: .rp/info.json cpu)', min: 1 }),
    gpu: Flags.integer({ description: 'GPUs (default: .rp/info.json gpus)', min: 0 }),
    mem: memoryFlag({ description: 'memory in GB (default: .rp/info.json memory)' }),
    shm: shmFlag({
      description: 'shared memory size, e.g. 8g (default: .rp/info.json docker_shm)',
    }),
    time: timeFlag,
    signal: signalFlag,
    'no-wait': Flags.boolean({
      description: 'exit with code 75 instead of waiting when the resources are not free now',
      default: false,
    }),
    on: onFlag,
    ...syncFlags,
  };

  async run(): Promise<void> {
    const argv = bareOnAsDefault(this.argv);
    const { flags } = await this.parse(Enter, argv);
    checkSyncFlags(flags);
    // Refuse before anything is built or queued.
    if (!isInteractive()) {
      throw new UsageError(
        'rp enter needs an interactive terminal (stdin and stdout must be a TTY)',
        {
          hint: 'to run a command without a terminal, use rp run --script=...',
        },
      );
    }
    const remote = flags.on;
    if (remote !== undefined) {
      const { remoteEnter } = await import('../services/remote-run.js');
      this.setExitCode(
        await callRemote(flags, argv, (common) => remoteEnter({ remote, ...common })),
      );
      return;
    }
    const engine = await connectDocker();
    await engine.ping();
    const session = await openHostSession(engine);
    const user = currentUser();
    const prepared = await prepareJob({
      cwd: process.cwd(),
      user,
      kind: 'enter',
      cpu: flags.cpu,
      gpus: flags.gpu,
      memoryGb: flags.mem,
      shm: flags.shm,
      time: flags.time,
      signal: flags.signal,
      session,
      build: await createBuildProgress({ stream: process.stderr }),
    });
    const signals = stopSignals();
    const job = await submitJob(session, prepared, user);
    const terminal = openTerminal();
    const reporter = createJobProgress(process.stderr);
    try {
      const exitCode = await superviseJob({
        session,
        prepared,
        job,
        noWait: flags['no-wait'],
        reporter: {
          ...reporter,
          started: (running) => {
            reporter.started(running);
            terminal.enterRawMode();
          },
        },
        stdout: process.stdout,
        stderr: process.stderr,
        terminal,
        signal: signals.signal,
      });
      this.setExitCode(exitCode);
    } finally {
      terminal.restore();
      signals.dispose();
    }
  }
}
