import { Flags, type Interfaces } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { memoryFlag, shmFlag, signalFlag, timeFlag } from '../cli/flags.js';
import { stopSignals } from '../cli/signals.js';
import { callRemote, checkSyncFlags, onFlag, syncFlags } from '../cli/remote-flags.js';
import { takeBooleanFlagValue } from '../core/flag-values.js';
import { bareOnAsDefault } from '../core/remote-command.js';
import { jobName } from '../core/naming.js';
import { connectDocker } from '../docker/engine.js';
import { currentUser } from '../host/identity.js';
import { openHostSession } from '../services/host-session.js';
import type { JobRequestOptions } from '../services/job-submission.js';
import type { Backend } from '../services/backend.js';
import { backendForRun } from '../services/backends/select.js';
import { BACKEND_NAMES, type BackendName } from '../core/backend-config.js';
import { UsageError } from '../core/errors.js';
import { createBuildProgress } from '../ui/build-progress.js';

type RunFlags = Interfaces.InferredFlags<(typeof Run)['flags']>;

export default class Run extends BaseCommand {
  static override description =
    "Run a script of the project in its container with exclusive GPUs, pinned CPU cores and a memory limit, waiting in the host's queue until they are free. Exits with the script's exit code.";

  static override examples = [
    '<%= config.bin %> run --script="train.sh --lr 3e-4"',
    '<%= config.bin %> run --script=eval.sh --gpu 2 --cpu 8 --mem 32',
    '<%= config.bin %> run --script=train.sh --detach',
    '<%= config.bin %> run --script=prep.sh --gpu 0 --no-wait',
    '<%= config.bin %> run --script=train.sh --time 12h --signal USR1@300',
    '<%= config.bin %> run --array 0-99%4 --script="train.sh --seed {i}"',
    '<%= config.bin %> run --sweep lr=1e-3,3e-4 --sweep seed=1..3 --script="train.sh --lr {lr} --seed {seed}"',
    '<%= config.bin %> run --on gpu1 --script="train.sh --lr 3e-4"',
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
    // `--detach=True` (the original rp's syntax) is taken out of argv before parsing: see run().
    detach: Flags.boolean({
      char: 'd',
      description:
        'queue and run the job in the background (it survives the terminal closing); output goes to a log file, follow it with "rp logs ID -f". Also --detach=True|true|1|False|false|0',
      default: false,
    }),
    array: Flags.string({
      description:
        'run one task per index, in the background: 0-99, 1,3,5, 0-100:10; %N runs at most N at once (0-99%4). {i} in --script is the index; tasks see RP_ARRAY_TASK_ID and RP_ARRAY_JOB_ID',
    }),
    sweep: Flags.string({
      description:
        'NAME=VALUES (a,b,c or 1..5): one task per combination of every --sweep, in the background; {NAME} in --script is the value, tasks see RP_SWEEP_NAME',
      multiple: true,
    }),
    time: timeFlag,
    signal: signalFlag,
    preemptible: Flags.boolean({
      description:
        'may run on resources booked by others (rp book); stopped (SIGTERM, then SIGKILL) when such a booking starts, ending as preempted',
      default: false,
    }),
    'no-wait': Flags.boolean({
      description: 'exit with code 75 instead of waiting when the job cannot start now',
      default: false,
    }),
    json: Flags.boolean({
      description: 'with --detach: print {id, name, logFile} as JSON',
      default: false,
    }),
    // What `rp run --on` asks the server for: the job's stderr in a file of its own.
    'split-stderr': Flags.boolean({ hidden: true, default: false }),
    backend: Flags.string({
      description:
        'where the job runs: local (this machine) or slurm (the cluster in the host config); default: the host config\'s "backend"',
      options: [...BACKEND_NAMES],
    }),
    on: onFlag,
    ...syncFlags,
  };

  async run(): Promise<void> {
    const argv = bareOnAsDefault(this.argv);
    const detachValue = takeBooleanFlagValue(argv, 'detach');
    const { flags } = await this.parse(Run, detachValue.argv);
    const detach = detachValue.value ?? flags.detach;
    checkSyncFlags(flags);
    if (flags.on !== undefined) return this.runRemote(flags, argv, flags.on, detach);
    const engine = await connectDocker();
    await engine.ping();
    const session = await openHostSession(engine);
    const request: JobRequestOptions = {
      cwd: process.cwd(),
      user: currentUser(),
      kind: 'run',
      script: flags.script,
      cpu: flags.cpu,
      gpus: flags.gpu,
      memoryGb: flags.mem,
      shm: flags.shm,
      time: flags.time,
      signal: flags.signal,
      preemptible: flags.preemptible,
      session,
      build: await createBuildProgress({ stream: process.stderr, quiet: false }),
    };
    const backend = await backendForRun(
      session.rpHome,
      flags.backend as BackendName | undefined,
      async () => new Set((await session.store.read()).jobs.map((job) => job.id)),
    );
    // Each way of running loads only its own modules: a detached or array submission loads none
    // of the foreground's supervision or the backends' submission.
    if (backend !== undefined) return this.runOnBackend(backend, request, flags, detach);
    if (flags.array !== undefined || flags.sweep !== undefined) {
      return this.submitTasks(request, flags);
    }
    if (detach) return this.submitDetached(request, flags);
    return this.runInForeground(request, flags);
  }

  private async runRemote(
    flags: RunFlags,
    argv: string[],
    remote: string,
    detach: boolean,
  ): Promise<void> {
    const { runRemote } = await import('../services/remote-run.js');
    const { reconnectBudgetMs } = await import('../services/remote-follow.js');
    const background = detach || flags.array !== undefined || flags.sweep !== undefined;
    this.setExitCode(
      await callRemote(flags, argv, (common) =>
        runRemote({ remote, background, reconnectBudgetMs: reconnectBudgetMs(), ...common }),
      ),
    );
  }

  private async runOnBackend(
    backend: Backend,
    request: JobRequestOptions,
    flags: RunFlags,
    detach: boolean,
  ): Promise<void> {
    const { submitToBackend } = await import('../services/backend-submit.js');
    const signals = stopSignals();
    try {
      const result = await submitToBackend(backend, request, {
        array: flags.array,
        sweep: flags.sweep,
        detach,
        noWait: flags['no-wait'],
        outfileName: flags.outfile_name,
        io: {
          stdout: process.stdout,
          stderr: process.stderr,
          signal: signals.signal,
          submitted: (job) =>
            process.stderr.write(
              `waiting to be scheduled as ${jobName(job.id)} (${job.backend} job ${job.backendJobId})\n`,
            ),
        },
      });
      for (const line of result.lines) this.log(line);
      this.setExitCode(result.exitCode);
    } finally {
      signals.dispose();
    }
  }

  /** `--array` or `--sweep` on this machine: every task queued at once, in the background. */
  private async submitTasks(request: JobRequestOptions, flags: RunFlags): Promise<void> {
    if (flags['no-wait']) {
      throw new UsageError('--no-wait does not apply to --array or --sweep', {
        hint: 'their tasks wait in the queue in the background',
      });
    }
    const { submitArray } = await import('../services/submit-array.js');
    const { describeArraySubmission } = await import('../ui/array-submission.js');
    const result = await submitArray(request, {
      array: flags.array,
      sweep: flags.sweep,
      outfileName: flags.outfile_name,
    });
    for (const line of describeArraySubmission(result)) this.log(line);
  }

  private async submitDetached(request: JobRequestOptions, flags: RunFlags): Promise<void> {
    const { detachJob } = await import('../services/detach-job.js');
    const result = await detachJob(request, {
      outfileName: flags.outfile_name,
      noWait: flags['no-wait'],
      splitStderr: flags['split-stderr'],
    });
    const name = jobName(result.job.id);
    process.stderr.write(`waiting to be scheduled as ${name}\n`);
    if (flags.json) {
      this.log(JSON.stringify({ id: result.job.id, name, logFile: result.logFile }));
      return;
    }
    this.log(`${name} runs in the background; its output goes to ${result.logFile}`);
    this.log(
      `follow it with: rp logs ${result.job.id} -f    stop it with: rp kill ${result.job.id}`,
    );
  }

  private async runInForeground(request: JobRequestOptions, flags: RunFlags): Promise<void> {
    const { runJob } = await import('../services/run-job.js');
    const { createJobProgress } = await import('../ui/job-progress.js');
    const signals = stopSignals();
    try {
      const exitCode = await runJob(request, {
        noWait: flags['no-wait'],
        reporter: createJobProgress(process.stderr),
        stdout: process.stdout,
        stderr: process.stderr,
        signal: signals.signal,
        outfileName: flags.outfile_name,
      });
      this.setExitCode(exitCode);
    } finally {
      signals.dispose();
    }
  }
}
