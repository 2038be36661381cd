import { describe, expect, it } from 'vitest';
import {
  doctorExitCode,
  judgeClock,
  judgeContainers,
  judgeDisk,
  judgeGpuContainer,
  judgeHome,
  judgeInventory,
  type HomeFacts,
} from '../../src/core/doctor.js';
import { makeJob } from '../ledger/fixtures/jobs.js';

const HOME: HomeFacts = {
  home: { path: '/var/lib/rp', exists: true, uid: 0, gid: 0, mode: 0o755 },
  config: { path: '/var/lib/rp/config.json', exists: true, uid: 0, gid: 0, mode: 0o644 },
  queue: { path: '/var/lib/rp/queue', exists: true, uid: 0, gid: 105, mode: 0o2775 },
  shared: [{ path: '/var/lib/rp/queue/ledger.json', exists: true, uid: 0, gid: 105, mode: 0o664 }],
  group: { name: 'docker', gid: 105 },
  initCommand: 'sudo rp host init',
};

describe('rp doctor judgements', () => {
  it('passes the modes rp host init sets, and fails what shuts users out', () => {
    expect(judgeHome(HOME).status).toBe('ok');
    const broken = judgeHome({
      ...HOME,
      config: { ...HOME.config, mode: 0o600 },
      queue: { ...HOME.queue, mode: 0o755, gid: 0 },
    });
    expect(broken).toMatchObject({ status: 'fail', hint: 'run "sudo rp host init"' });
    expect(broken.detail).toContain('/var/lib/rp/config.json is mode 0600: users cannot read it');
    expect(broken.detail).toContain('the group cannot queue jobs');
    expect(broken.detail).toContain("is not group docker's (gid 0)");
  });

  it('fails a GPU host whose test container sees no GPU, naming the missing runtime', () => {
    const check = judgeGpuContainer({
      gpus: 2,
      probe: {
        image: 'rp/alice-proj:0123abcd',
        exitCode: 125,
        output: 'could not select device driver "nvidia" with capabilities: [[gpu utility]]',
      },
      runtimes: ['runc'],
    });
    expect(check.status).toBe('fail');
    expect(check.detail).toContain('no nvidia');
    expect(
      judgeGpuContainer({
        gpus: 1,
        probe: { image: 'x', exitCode: 0, output: 'GPU 0: NVIDIA H100 (UUID: GPU-5f1c)\n' },
      }).status,
    ).toBe('ok');
    expect(judgeGpuContainer({ gpus: 0 }).status).toBe('ok');
  });

  it('finds containers without a ledger entry, and running entries without a container', () => {
    const running = makeJob({
      id: '1234',
      seq: 3,
      state: 'running',
      container: { id: 'f'.repeat(64), name: 'rp1234' },
    });
    const check = judgeContainers(
      [running],
      [{ id: 'e'.repeat(64), name: 'rp5555', state: 'exited', job: { id: '5555', seq: 1 } }],
    );
    expect(check.status).toBe('fail');
    expect(check.detail).toBe(
      'container rp5555 (exited) of job 5555 is not in the ledger; job 1234 is running in the ledger but has no container',
    );
    expect(check.hint).toContain('docker rm -f rp5555');
  });

  it('warns about clocks apart and low disk, and fails a nearly full one', () => {
    expect(judgeClock({ futureTimes: 0, fileSystemSkewMs: 200 }).status).toBe('ok');
    expect(judgeClock({ futureTimes: 0, engineSkewMs: -90_000 }).detail).toContain('-90 s off');
    const disk = (freeMb: number) => [
      { what: 'images', path: '/var/lib/docker', freeMb, totalMb: 500_000 },
    ];
    expect(judgeDisk(disk(200_000)).status).toBe('ok');
    expect(judgeDisk(disk(5_000)).status).toBe('warn');
    expect(judgeDisk(disk(500)).status).toBe('fail');
  });

  it('compares the stored inventory with the machine, GPUs by uuid', () => {
    const stored = {
      gpus: ['GPU-a', 'GPU-b'],
      cpuCount: 8,
      memoryTotalMb: 64_000,
      detectedAt: 'T',
    };
    const same = { gpus: ['GPU-a', 'GPU-b'], cpuCount: 8, memoryTotalMb: 64_100 };
    expect(
      judgeInventory({ stored, detected: same, refreshCommand: 'sudo rp host refresh' }).status,
    ).toBe('ok');
    const check = judgeInventory({
      stored,
      detected: { ...same, gpus: ['GPU-a'] },
      refreshCommand: 'sudo rp host refresh',
    });
    expect(check).toMatchObject({
      status: 'warn',
      hint: 'if the machine really changed, run "sudo rp host refresh"',
    });
  });

  it('exits 0 only when nothing fails', () => {
    expect(doctorExitCode([{ id: 'a', status: 'warn', detail: '' }])).toBe(0);
    expect(doctorExitCode([{ id: 'a', status: 'fail', detail: '' }])).toBe(3);
  });
});
