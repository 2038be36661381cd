import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseHostConfig, resolveHostConfig } from '../../src/core/host-config.js';
import {
  parseKillWait,
  DEFAULT_SLURM_STOP_GRACE_SECONDS,
  shellQuote,
  slurmGraceFile,
  slurmJobBody,
  slurmStopGraceSeconds,
  type SlurmContainerSpec,
} from '../../src/core/slurm-job-script.js';

const SPEC: SlurmContainerSpec = {
  jobId: '1234',
  image: 'rp/alice-proj:0123abcd',
  imageSource: { archive: '/shared/rp/images/rp_alice-proj_0123abcd.tar' },
  user: { uid: 1000, gid: 1000 },
  groups: [1000, 44],
  workingDir: '/home/alice/proj',
  mounts: [
    { source: '/home/alice/proj', target: '/home/alice/proj' },
    { source: '/data/set', target: '/home/alice/set', readOnly: true },
  ],
  shmBytes: 1024,
  memoryMb: 512,
  env: { HOME: '/home/alice' },
  labels: { 'rp.job': '1234' },
  command: ['./train.sh', "it's", '--seed', '{i}'],
  statusFile: '/shared/rp/jobs/alice/rp1234/status',
  isArray: false,
  graceSeconds: 3,
  graceFile: '/shared/rp/jobs/alice/rp1234/stop-grace',
};

const body = (spec: Partial<SlurmContainerSpec> = {}) =>
  slurmJobBody({ ...SPEC, ...spec }).join('\n');

/** What the script's rp_grace prints, run by bash in `env`: the grace its TERM trap gives. */
function graceChosen(spec: Partial<SlurmContainerSpec>, env: Record<string, string>): string {
  const lines = slurmJobBody({ ...SPEC, ...spec });
  const start = lines.findIndex((line) => line.startsWith('rp_grace_file='));
  const end = lines.indexOf('}', start);
  const script = [...lines.slice(start, end + 1), 'rp_grace'].join('\n');
  return execFileSync('bash', ['--norc', '--noprofile', '-c', script], {
    env: { PATH: process.env.PATH, ...env },
    input: '',
  })
    .toString()
    .trim();
}

describe('the batch script body of a Slurm job', () => {
  it('Given a word with spaces or quotes, When quoted, Then bash reads it back unchanged', () => {
    for (const word of ['plain', 'two words', "it's", '$HOME', '"x"', '']) {
      const echoed = execFileSync('bash', ['-c', `printf %s ${shellQuote(word)}`]).toString();
      expect(echoed).toBe(word);
    }
  });

  it('Given a job, When its body is rendered, Then it is valid bash that runs the image as the user with its mounts, memory and labels', () => {
    const text = body();
    execFileSync('bash', ['-n'], { input: text });
    expect(text).toContain('--user=1000:1000');
    expect(text).toContain('--group-add=44');
    expect(text).not.toContain('--group-add=1000');
    expect(text).toContain('--volume=/data/set:/home/alice/set:ro');
    expect(text).toContain(`--memory=${512 * 1024 * 1024}`);
    expect(text).toContain('--label=rp.slurm-job="$SLURM_JOB_ID"');
    expect(text).toContain('--env=RP_JOB_ID=1234');
    expect(text).toContain(`rp_command=(./train.sh 'it'\\''s' --seed '{i}')`);
    expect(text).toContain('"$rp_image" "${rp_command[@]}" &');
    expect(text).toContain(
      'docker load --quiet --input /shared/rp/images/rp_alice-proj_0123abcd.tar',
    );
    expect(text).toContain(
      `trap 'docker stop --time="$(rp_grace)" "$rp_name" >/dev/null 2>&1' TERM`,
    );
  });

  it("Given an array, When its body is rendered, Then {i} and the status file's {task} become the task index", () => {
    const text = body({ isArray: true, statusFile: '/s/status-{task}' });
    execFileSync('bash', ['-n'], { input: text });
    expect(text).toContain('rp_status=/s/status-"$SLURM_ARRAY_TASK_ID"');
    expect(text).toContain('--seed "$SLURM_ARRAY_TASK_ID")');
    expect(text).toContain('--env="RP_ARRAY_TASK_ID=$SLURM_ARRAY_TASK_ID"');
  });

  it("Given a sweep, When a task's lines run, Then it gets its own script line and RP_SWEEP_ values, and an unknown task ends 125", () => {
    const sweepTasks = [
      { task: 0, command: ['./train.sh', '--lr', '1e-3'], env: { RP_SWEEP_LR: '1e-3' } },
      { task: 1, command: ['./train.sh', '--lr', "it's"], env: { RP_SWEEP_LR: "it's" } },
    ];
    const text = body({ isArray: true, statusFile: '/s/status-{task}', sweepTasks });
    execFileSync('bash', ['-n'], { input: text });
    // The lines from the task's options to the end of the case, then what they chose.
    const lines = text.split('\n');
    const from = lines.findIndex((line) => line.startsWith('rp_task='));
    const to = lines.indexOf('esac');
    const picked = (task: string): string[] =>
      execFileSync(
        'bash',
        [
          '-c',
          'rp_end() { echo "ended $1"; exit "$1"; }\n' +
            [
              ...lines.slice(from, to + 1),
              'printf "%s\\n" "${rp_command[@]}" "${rp_task[@]}"',
            ].join('\n'),
        ],
        { env: { SLURM_ARRAY_TASK_ID: task }, stdio: 'pipe' },
      )
        .toString()
        .trim()
        .split('\n');
    expect(picked('1')).toEqual([
      './train.sh',
      '--lr',
      "it's",
      '--env=RP_ARRAY_TASK_ID=1',
      '--env=RP_ARRAY_JOB_ID=1234',
      "--env=RP_SWEEP_LR=it's",
    ]);
    expect(() => picked('7')).toThrow(/no task 7/);
  });

  it('Given a warning signal, When rendered, Then the batch shell passes it on to the container', () => {
    expect(body({ warningSignal: 'USR1' })).toContain(
      `trap 'docker kill --signal=USR1 "$rp_name" >/dev/null 2>&1' USR1`,
    );
  });

  it('Given a registry, When rendered, Then a node without the image pulls it and tags it as the local build', () => {
    const text = body({ imageSource: { pull: 'localhost:5000/rp/alice-proj:0123abcd' } });
    expect(text).toContain('docker pull --quiet localhost:5000/rp/alice-proj:0123abcd');
    expect(text).toContain('docker tag localhost:5000/rp/alice-proj:0123abcd "$rp_image"');
  });
});

describe("a Slurm job's stop grace", () => {
  it("Given scontrol show config's text, When its KillWait is read, Then it is the seconds, and undefined where it is not said", () => {
    // Lines around KillWait as Slurm 22.05 prints them
    const config = [
      'KillOnBadExit           = 0',
      'KillWait                = 5 sec',
      'UnkillableStepTimeout   = 60 sec',
    ].join('\n');
    expect(parseKillWait(config)).toBe(5);
    expect(parseKillWait(config.replace('5 sec', '120 sec'))).toBe(120);
    expect(parseKillWait('UnkillableStepTimeout   = 60 sec')).toBeUndefined();
  });

  const limitsOf = (limits: object) =>
    resolveHostConfig(
      parseHostConfig(JSON.stringify({ capacity: {}, limits }), '/rp/config.json'),
      { gpus: [], cpuCount: 4, memoryTotalMb: 8192 },
      '/rp/config.json',
    ).limits;

  it('Given limits.killWaitSeconds in the host config, When the job script is written, Then its TERM trap gives the container that long', () => {
    const grace = slurmStopGraceSeconds(
      limitsOf({ default: {}, users: {}, killWaitSeconds: 12 }).killWaitSeconds,
    );
    expect(grace).toBe(12);
    expect(graceChosen({ graceSeconds: grace }, {})).toBe('12');
  });

  it("Given rp kill --grace wrote a grace for the job or for one task, When TERM comes, Then the container gets that one, the task's first", () => {
    const dir = mkdtempSync(join(tmpdir(), 'rp-grace-'));
    try {
      const graceFile = slurmGraceFile(dir);
      const spec = { graceSeconds: 3, graceFile };
      writeFileSync(graceFile, '0\n');
      expect(graceChosen(spec, {})).toBe('0');
      writeFileSync(slurmGraceFile(dir, 7), '20\n');
      expect(graceChosen(spec, { SLURM_ARRAY_TASK_ID: '7' })).toBe('20');
      expect(graceChosen(spec, { SLURM_ARRAY_TASK_ID: '8' })).toBe('0');
      // A file written without a final newline counts too.
      writeFileSync(slurmGraceFile(dir, 8), '7');
      expect(graceChosen(spec, { SLURM_ARRAY_TASK_ID: '8' })).toBe('7');
      rmSync(slurmGraceFile(dir, 8));
      // Anything but a whole number of seconds is passed over.
      writeFileSync(graceFile, '5; reboot\n');
      expect(graceChosen(spec, { SLURM_ARRAY_TASK_ID: '8' })).toBe('3');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("Given no kill wait in the host config, When the grace is chosen, Then it is the Slurm default, within a cluster's default KillWait", () => {
    const grace = slurmStopGraceSeconds(limitsOf({ default: {}, users: {} }).killWaitSeconds);
    expect(grace).toBe(DEFAULT_SLURM_STOP_GRACE_SECONDS);
    expect(grace).toBeLessThan(30);
    expect(slurmStopGraceSeconds(0)).toBe(0);
  });
});
