/**
 * The body of an rp job's Slurm batch script: the lines after the `#SBATCH` options
 * (slurm-batch.ts) that run the job's container on the compute node so that it lives and dies with
 * the Slurm job (docs/slurm-runtime.md): Docker with `--cgroup-parent` set to the job's own cgroup
 * (inside its --mem and cores), in the background so that a TERM trap can stop it (scancel, the
 * time limit), a status file with the container's exit code, and the `rp.slurm-job` label the
 * cluster's Epilog removes leftovers by. Pure text, unit-tested without a cluster.
 */
import { substitutePlaceholders } from './array-spec.js';
import { TASK_PLACEHOLDER } from './slurm-batch.js';

/**
 * Seconds the container gets between SIGTERM and SIGKILL when its Slurm job is cancelled or
 * reaches its time limit, when the host config sets no `limits.killWaitSeconds`. Slurm SIGKILLs
 * the batch script KillWait seconds after its SIGTERM (30 s by default, 5 s on
 * scripts/slurm/start.sh's cluster): the script must stop the container and write its status
 * within that; whatever outlives it is removed by the Epilog.
 */
export const DEFAULT_SLURM_STOP_GRACE_SECONDS = 3;

/**
 * The stop grace of a Slurm job: the host's `limits.killWaitSeconds`, the same knob as for a local
 * job at its time limit, else DEFAULT_SLURM_STOP_GRACE_SECONDS (not the local default of 30 s,
 * which would outlast a cluster's default KillWait of 30 s).
 */
export function slurmStopGraceSeconds(killWaitSeconds: number | undefined): number {
  return killWaitSeconds ?? DEFAULT_SLURM_STOP_GRACE_SECONDS;
}

/**
 * Slurm's KillWait in seconds, from `scontrol show config` ("KillWait                = 30 sec");
 * undefined when the text does not say.
 */
export function parseKillWait(configText: string): number | undefined {
  const match = /^KillWait\s*=\s*(\d+) sec\b/m.exec(configText);
  return match === null ? undefined : Number(match[1]);
}

/**
 * The file a cancel writes a job's (or one task's) stop grace into before its scancel, in the
 * job's folder on the shared folder; the job script reads it when its TERM comes.
 */
export function slurmGraceFile(jobDir: string, task?: number): string {
  const file = `${jobDir}/stop-grace`;
  return task === undefined ? file : `${file}-${task}`;
}

/** The label the Epilog finds a Slurm job's containers by (scripts/slurm/start.sh). */
export const SLURM_JOB_LABEL = 'rp.slurm-job';

export interface SlurmContainerSpec {
  /** rp's job id. */
  jobId: string;
  /** The image by its content-hashed reference, as the local build tagged it. */
  image: string;
  /** How a node without the image gets it: `docker load -i` an archive, or `docker pull`. */
  imageSource: { archive: string } | { pull: string };
  user: { uid: number; gid: number };
  groups: readonly number[];
  workingDir: string;
  mounts: ReadonlyArray<{ source: string; target: string; readOnly?: boolean }>;
  shmBytes: number;
  memoryMb: number;
  env: Readonly<Record<string, string>>;
  labels: Readonly<Record<string, string>>;
  /** The argument vector; in an array, `{i}` stands for the task index. */
  command: readonly string[];
  /**
   * A sweep's tasks, each with its own argument vector and environment (RP_SWEEP_*): the script
   * picks the task's by `$SLURM_ARRAY_TASK_ID`. Absent for a plain array, whose tasks differ only
   * by the index `{i}`.
   */
  sweepTasks?: ReadonlyArray<SweepTask>;
  /** Where the exit code goes; an array's path holds `{task}`. */
  statusFile: string;
  isArray: boolean;
  /** Seconds the container gets between SIGTERM and SIGKILL when the job is ended. */
  graceSeconds: number;
  /**
   * A file a cancel may write first (`rp kill --grace`) to give the container another grace:
   * `FILE-<task>` for one task of an array, FILE for the whole job (see slurmGraceFile).
   */
  graceFile: string;
  /** `--signal NAME@S`: the warning Slurm sends the batch shell, passed on to the container. */
  warningSignal?: string;
}

/** One task of a sweep, its placeholders filled in. */
export interface SweepTask {
  task: number;
  command: readonly string[];
  env: Readonly<Record<string, string>>;
}

/** A word for bash: single-quoted, so nothing in it is expanded. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

const TASK_MARK = '\u0000task\u0000';
const TASK_VAR = '"$SLURM_ARRAY_TASK_ID"';

/** An array task's word: quoted, with each `{i}` (and `{task}` in paths) the task index. */
function taskWord(word: string, isArray: boolean, placeholder: 'i' | 'task'): string {
  if (!isArray) return shellQuote(word);
  const marked =
    placeholder === 'i'
      ? substitutePlaceholders(word, { i: TASK_MARK })
      : word.replaceAll(TASK_PLACEHOLDER, TASK_MARK);
  return marked
    .split(TASK_MARK)
    .map((part) => (part === '' ? '' : shellQuote(part)))
    .join(TASK_VAR);
}

/** The batch script's lines after its `#SBATCH` options. */
export function slurmJobBody(spec: SlurmContainerSpec): string[] {
  const memoryBytes = spec.memoryMb * 1024 * 1024;
  const env = {
    ...spec.env,
    RP_JOB_ID: spec.jobId,
  };
  const runArgs = [
    '--rm',
    '--init',
    `--user=${spec.user.uid}:${spec.user.gid}`,
    ...spec.groups.filter((gid) => gid !== spec.user.gid).map((gid) => `--group-add=${gid}`),
    `--workdir=${spec.workingDir}`,
    ...spec.mounts.map(
      (mount) => `--volume=${mount.source}:${mount.target}${mount.readOnly === true ? ':ro' : ''}`,
    ),
    `--shm-size=${spec.shmBytes}`,
    `--memory=${memoryBytes}`,
    `--memory-swap=${memoryBytes}`,
    ...Object.entries(spec.labels).map(([key, value]) => `--label=${key}=${value}`),
    ...Object.entries(env).map(([key, value]) => `--env=${key}=${value}`),
  ].map(shellQuote);
  const pull =
    'archive' in spec.imageSource
      ? `docker load --quiet --input ${shellQuote(spec.imageSource.archive)} >/dev/null`
      : `docker pull --quiet ${shellQuote(spec.imageSource.pull)} >/dev/null && docker tag ${shellQuote(spec.imageSource.pull)} "$rp_image"`;
  const signalTrap =
    spec.warningSignal === undefined
      ? []
      : [
          `trap 'docker kill --signal=${spec.warningSignal} "$rp_name" >/dev/null 2>&1' ${spec.warningSignal}`,
        ];
  return [
    '# Written by rp: runs the job in its container, inside this Slurm job (docs/slurm-runtime.md).',
    'set -u',
    `rp_status=${taskWord(spec.statusFile, spec.isArray, 'task')}`,
    'rp_end() { printf "exit=%s\\n" "$1" >"$rp_status.tmp" && mv -f "$rp_status.tmp" "$rp_status"; exit "$1"; }',
    `rp_image=${shellQuote(spec.image)}`,
    'rp_name="rp-slurm-$SLURM_JOB_ID"',
    'if ! docker image inspect "$rp_image" >/dev/null 2>&1; then',
    `  ${pull} || { echo "rp: cannot get the image $rp_image on $(hostname)" >&2; rp_end 125; }`,
    'fi',
    "# The container goes under this job's cgroup: inside its memory and cores, seen by Slurm.",
    'rp_cgroup=$(sed -n "s/^[0-9]*:memory://p" /proc/self/cgroup | head -n 1)',
    '[ -n "$rp_cgroup" ] || rp_cgroup=$(sed -n "s/^0:://p" /proc/self/cgroup | head -n 1)',
    'rp_parent=()',
    'case "${rp_cgroup%/task_*}" in "" | /) ;; *) rp_parent=(--cgroup-parent="${rp_cgroup%/task_*}") ;; esac',
    "# The job's GPUs as Slurm numbered them on this node; none: the container sees none.",
    'rp_gpus=(--env=NVIDIA_VISIBLE_DEVICES=void)',
    'if [ -n "${SLURM_JOB_GPUS:-}" ]; then',
    '  rp_gpus=(--env="NVIDIA_VISIBLE_DEVICES=$SLURM_JOB_GPUS" --gpus="\\"device=$SLURM_JOB_GPUS\\"")',
    'fi',
    ...(spec.isArray
      ? [
          'rp_task=(--env="RP_ARRAY_TASK_ID=$SLURM_ARRAY_TASK_ID" --env="RP_ARRAY_JOB_ID=' +
            spec.jobId +
            '")',
        ]
      : ['rp_task=()']),
    ...(spec.sweepTasks === undefined
      ? [`rp_command=(${spec.command.map((word) => taskWord(word, spec.isArray, 'i')).join(' ')})`]
      : sweepCase(spec.sweepTasks)),
    '# scancel and the time limit send TERM to this shell: stop the container within its grace,',
    "# the job's own or the one its cancel wrote (rp kill --grace) for this task or the whole job.",
    `rp_grace_file=${shellQuote(spec.graceFile)}`,
    'rp_grace() {',
    '  local file value',
    '  for file in "$rp_grace_file-${SLURM_ARRAY_TASK_ID:-}" "$rp_grace_file"; do',
    '    value=',
    '    [ -r "$file" ] && { read -r value <"$file" || [ -n "$value" ]; } || continue',
    '    case "$value" in "" | *[!0-9]*) ;; *) echo "$value"; return ;; esac',
    '  done',
    `  echo ${spec.graceSeconds}`,
    '}',
    `trap 'docker stop --time="$(rp_grace)" "$rp_name" >/dev/null 2>&1' TERM`,
    ...signalTrap,
    [
      'docker run --name="$rp_name" "${rp_parent[@]}" "${rp_gpus[@]}" "${rp_task[@]}"',
      `--label=${SLURM_JOB_LABEL}="$SLURM_JOB_ID"`,
      ...runArgs,
      '"$rp_image"',
      '"${rp_command[@]}"',
      '&',
    ].join(' '),
    'rp_pid=$!',
    '# A trapped signal ends `wait` early: wait again until the container is gone.',
    'while :; do',
    '  wait "$rp_pid"',
    '  rp_code=$?',
    '  kill -0 "$rp_pid" 2>/dev/null || break',
    'done',
    'rp_end "$rp_code"',
  ];
}

/** The lines that set a sweep task's argument vector and RP_SWEEP_* variables by its index. */
function sweepCase(tasks: ReadonlyArray<SweepTask>): string[] {
  return [
    "# A sweep: each task's script line and values, by its index.",
    'case "$SLURM_ARRAY_TASK_ID" in',
    ...tasks.map((task) => {
      const words = task.command.map(shellQuote).join(' ');
      const env = Object.entries(task.env)
        .map(([key, value]) => shellQuote(`--env=${key}=${value}`))
        .join(' ');
      return `  ${task.task}) rp_command=(${words}); rp_task+=(${env}) ;;`;
    }),
    '  *) echo "rp: this sweep has no task $SLURM_ARRAY_TASK_ID" >&2; rp_end 125 ;;',
    'esac',
  ];
}
