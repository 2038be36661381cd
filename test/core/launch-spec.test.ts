import { describe, expect, it } from 'vitest';
import {
  launchSpecSchema,
  loggedCommand,
  stderrFileOf,
  taskCommand,
  type LaunchSpec,
} from '../../src/core/launch-spec.js';

const spec: LaunchSpec = {
  image: 'rp/alice-proj:0123abcd',
  user: { uid: 1000, gid: 1000 },
  groups: [1000, 44],
  command: ['bash', './train.sh', '--lr', '3e-4; rm -rf /'],
  workingDir: '/home/alice/proj',
  mounts: [{ source: '/srv/alice/proj', target: '/home/alice/proj' }],
  shmBytes: 2 ** 31,
  env: { HOME: '/home/alice' },
  logDir: { host: '/srv/alice/proj/.rp/logs', container: '/home/alice/proj/.rp/logs' },
};

describe('a detached job’s command (pure)', () => {
  it('writes both streams to the log file as the container sees it, arguments untouched', () => {
    const command = loggedCommand(spec, '/srv/alice/proj/.rp/logs/proj_20261202_101500_1234.log');
    expect(command).toEqual([
      'sh',
      '-c',
      'exec "$@" >"$0" 2>&1',
      '/home/alice/proj/.rp/logs/proj_20261202_101500_1234.log',
      'bash',
      './train.sh',
      '--lr',
      '3e-4; rm -rf /',
    ]);
  });

  it('with splitStderr, writes stderr to <log>.err beside the log (a job run from a laptop)', () => {
    const log = '/srv/alice/proj/.rp/logs/proj_20261202_101500_1234.log';
    const command = loggedCommand({ ...spec, splitStderr: true }, log);
    expect(command?.slice(0, 4)).toEqual([
      'sh',
      '-c',
      'exec "$@" >"$0" 2>"$0.err"',
      '/home/alice/proj/.rp/logs/proj_20261202_101500_1234.log',
    ]);
    expect(stderrFileOf(log)).toBe(`${log}.err`);
    expect(launchSpecSchema.parse({ ...spec, splitStderr: true }).splitStderr).toBe(true);
  });

  it('refuses a log file outside the spec’s log folder', () => {
    expect(loggedCommand(spec, '/srv/alice/other/.rp/logs/x.log')).toBeUndefined();
    expect(loggedCommand(spec, '/srv/alice/proj/.rp/logs/sub/x.log')).toBeUndefined();
  });
});

describe('the launch file schema', () => {
  it('accepts a spec and refuses relative paths and an empty command', () => {
    expect(launchSpecSchema.safeParse(spec).success).toBe(true);
    expect(launchSpecSchema.safeParse({ ...spec, workingDir: 'proj' }).success).toBe(false);
    expect(launchSpecSchema.safeParse({ ...spec, command: [] }).success).toBe(false);
    const badMount = { ...spec, mounts: [{ source: '../x', target: '/x' }] };
    expect(launchSpecSchema.safeParse(badMount).success).toBe(false);
  });
});

describe('what an array or grid task runs (pure)', () => {
  it('runs a plain job’s command untouched, braces and all', () => {
    const plain = { command: ['bash', './x.sh', '{i}'] };
    expect(taskCommand(plain, { id: '1234' })).toEqual({ command: plain.command, env: {} });
  });

  it('fills in {i} and tells the task its array and index', () => {
    const spec = { command: ['bash', './train.sh', '--seed', '{i}', '{{literal}}'] };
    expect(taskCommand(spec, { id: '1234', array: { task: 7 } })).toEqual({
      command: ['bash', './train.sh', '--seed', '7', '{literal}'],
      env: { RP_ARRAY_JOB_ID: '1234', RP_ARRAY_TASK_ID: '7' },
    });
  });

  it('gives grid task N the Nth combination, in its arguments and its environment', () => {
    const sweep = [
      { name: 'lr', values: ['1e-3', '3e-4'] },
      { name: 'seed', values: ['1', '2', '3'] },
    ];
    const spec = { command: ['./t.sh', '--lr', '{lr}', '--seed', '{seed}'], sweep };
    expect(taskCommand(spec, { id: '1234', array: { task: 4 } })).toEqual({
      command: ['./t.sh', '--lr', '3e-4', '--seed', '2'],
      env: {
        RP_ARRAY_JOB_ID: '1234',
        RP_ARRAY_TASK_ID: '4',
        RP_SWEEP_LR: '3e-4',
        RP_SWEEP_SEED: '2',
      },
    });
  });
});
