import { describe, expect, it } from 'vitest';
import {
  formatDuration,
  formatRequest,
  renderHostStatus,
  renderQueue,
  renderRunning,
  renderTable,
  renderUsage,
  type HostStatusView,
  type QueueRow,
  type RunningRow,
} from '../../src/ui/tables.js';

const GB = 1024;
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [999, '0s'],
    [45 * SECOND, '45s'],
    [59 * SECOND + 999, '59s'],
    [MINUTE, '1m'],
    [3 * MINUTE + 12 * SECOND, '3m 12s'],
    [HOUR, '1h'],
    [2 * HOUR + 5 * MINUTE + 59 * SECOND, '2h 5m'],
    [DAY - 1, '23h 59m'],
    [4 * DAY + HOUR + 30 * MINUTE, '4d 1h'],
    [400 * DAY, '400d'],
  ])('%i ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it('shows a negative or unknown duration as 0s rather than nonsense', () => {
    expect(formatDuration(-5 * SECOND)).toBe('0s');
    expect(formatDuration(Number.NaN)).toBe('0s');
  });
});

describe('formatRequest', () => {
  it('names each resource with its unit', () => {
    expect(formatRequest({ gpus: 1, cpus: 4, memoryMb: 16 * GB })).toBe('1 GPU, 4 CPUs, 16 GB');
    expect(formatRequest({ gpus: 0, cpus: 1, memoryMb: 512 })).toBe('0 GPUs, 1 CPU, 512 MB');
  });
});

describe('renderTable', () => {
  it('pads every column to its widest cell, two spaces apart, with no trailing spaces', () => {
    expect(
      renderTable(
        [{ header: 'ID' }, { header: 'N', align: 'right' }, { header: 'NOTE' }],
        [
          ['1', '7', 'short'],
          ['12345', '100', ''],
        ],
      ),
    ).toEqual(['ID       N  NOTE', '1        7  short', '12345  100']);
  });

  it('aligns by characters, not bytes, and fills missing cells', () => {
    expect(renderTable([{ header: 'USER' }, { header: 'X' }], [['jürgen', 'a'], ['bo']])).toEqual([
      'USER    X',
      'jürgen  a',
      'bo',
    ]);
  });

  it('prints only the headers for no rows, and only the rows without headers', () => {
    expect(renderTable([{ header: 'A' }, { header: 'B' }], [])).toEqual(['A  B']);
    expect(
      renderTable([{ header: 'LONG' }, { header: 'B' }], [['x', 'y']], { headers: false }),
    ).toEqual(['x  y']);
  });
});

const alice: RunningRow = {
  id: '1001',
  name: 'rp1001',
  user: 'alice',
  project: 'mnist',
  state: 'running',
  gpus: [0],
  cpus: [0, 1, 2, 3],
  memoryMb: 16 * GB,
  runningMs: 3 * MINUTE + 12 * SECOND,
  timeLimitSeconds: 3600,
  leftMs: 56 * MINUTE + 48 * SECOND,
};

const bob: RunningRow = {
  id: '2002',
  name: 'rp2002',
  user: 'bob',
  project: 'nlp-big',
  state: 'granted',
  gpus: [],
  cpus: [4, 5, 7],
  memoryMb: 512,
  runningMs: 5 * SECOND,
  timeLimitSeconds: null,
  leftMs: null,
};

const carol: QueueRow = {
  position: 1,
  id: '4004',
  user: 'carol',
  project: 'proj',
  request: { gpus: 1, cpus: 1, memoryMb: GB },
  waitingFor: '1 GPU (0 free)',
  waitingMs: MINUTE,
  timeLimitSeconds: 90 * 60,
};

const dave: QueueRow = {
  position: 2,
  id: '3003',
  user: 'dave',
  project: 'vision',
  request: { gpus: 2, cpus: 16, memoryMb: 64 * GB },
  waitingFor: '2 GPUs (0 free); behind job 4004 at the head of the queue',
  waitingMs: 2 * HOUR + 5 * MINUTE,
  timeLimitSeconds: null,
};

describe('renderRunning', () => {
  it('shows ids as typed and as named, cores as ranges, how long each job has run and has left', () => {
    expect(renderRunning([alice, bob])).toEqual([
      'ID    NAME    USER   PROJECT  GPUS  CPUS   MEMORY  RUNNING FOR    LIMIT  LEFT',
      '1001  rp1001  alice  mnist    0     0-3     16 GB  3m 12s         1h     56m 48s',
      '2002  rp2002  bob    nlp-big  -     4-5,7  512 MB  starting (5s)  -      -',
    ]);
  });

  it('says so when nothing runs', () => {
    expect(renderRunning([])).toEqual(['No jobs are running.']);
  });
});

describe('renderQueue', () => {
  it("lists the queue in the given order with each job's request and what it waits for", () => {
    expect(renderQueue([carol, dave])).toEqual([
      '#  ID    USER   PROJECT  REQUEST                 SINCE  LIMIT   WAITING FOR',
      '1  4004  carol  proj     1 GPU, 1 CPU, 1 GB      1m     1h 30m  1 GPU (0 free)',
      '2  3003  dave   vision   2 GPUs, 16 CPUs, 64 GB  2h 5m  -       2 GPUs (0 free); behind job 4004 at the head of the queue',
    ]);
  });

  it('says so when nothing waits', () => {
    expect(renderQueue([])).toEqual(['The queue is empty.']);
  });
});

describe('renderUsage', () => {
  it('shows how much of each resource is in use, with the ids in use', () => {
    expect(
      renderUsage(
        { gpus: [0, 1], cpus: [0, 1, 2, 3, 4, 5, 6, 7], memoryMb: 64 * GB },
        { gpus: [0], cpus: [0, 1, 2, 3, 4, 5, 7], memoryMb: 16.5 * GB },
      ),
    ).toEqual([
      'GPUs    1 of 2 in use (0)',
      'CPUs    7 of 8 in use (0-5,7)',
      'memory  16.5 GB of 64 GB in use',
    ]);
  });

  it('says when the host has no GPUs, and lists no ids when nothing is in use', () => {
    expect(
      renderUsage(
        { gpus: [], cpus: [0, 1], memoryMb: 3 * GB },
        { gpus: [], cpus: [], memoryMb: 0 },
      ),
    ).toEqual([
      'GPUs    none on this host',
      'CPUs    0 of 2 in use',
      'memory  0 MB of 3 GB in use',
    ]);
  });
});

describe('renderHostStatus', () => {
  const idle: HostStatusView = {
    capacity: { gpus: [], cpus: [0, 1], memoryMb: 3 * GB },
    used: { gpus: [], cpus: [], memoryMb: 0 },
    running: [],
    queue: [],
  };

  it('shows usage, then says that nothing runs and nothing waits', () => {
    expect(renderHostStatus(idle)).toEqual([
      'GPUs    none on this host',
      'CPUs    0 of 2 in use',
      'memory  0 MB of 3 GB in use',
      '',
      'No jobs are running.',
      '',
      'The queue is empty.',
    ]);
  });

  it('puts the running jobs, then the queue, each under a title with its count', () => {
    const lines = renderHostStatus({
      capacity: { gpus: [0, 1], cpus: [0, 1, 2, 3, 4, 5, 6, 7], memoryMb: 64 * GB },
      used: { gpus: [0], cpus: [0, 1, 2, 3, 4, 5, 7], memoryMb: 16.5 * GB },
      running: [alice, bob],
      queue: [carol],
    });
    expect(lines.slice(3)).toEqual([
      '',
      'Running (2 jobs)',
      ...renderRunning([alice, bob]),
      '',
      'Queue (1 job)',
      ...renderQueue([carol]),
    ]);
  });
});

describe('the BACKEND column', () => {
  it('Given a host that also sends jobs to a cluster, When its running jobs and queue are rendered, Then each line says it runs here (local)', () => {
    expect(renderRunning([{ ...alice, backend: 'local' }], { backendColumn: true })).toEqual([
      'ID    NAME    BACKEND  USER   PROJECT  GPUS  CPUS  MEMORY  RUNNING FOR  LIMIT  LEFT',
      '1001  rp1001  local    alice  mnist    0     0-3    16 GB  3m 12s       1h     56m 48s',
    ]);
    expect(renderQueue([carol], { backendColumn: true })).toEqual([
      '#  ID    BACKEND  USER   PROJECT  REQUEST             SINCE  LIMIT   WAITING FOR',
      '1  4004  local    carol  proj     1 GPU, 1 CPU, 1 GB  1m     1h 30m  1 GPU (0 free)',
    ]);
  });

  it('Given a host with no other backend, When rendered, Then there is no BACKEND column', () => {
    expect(renderRunning([{ ...alice, backend: 'local' }])[0]).not.toContain('BACKEND');
    const lines = renderHostStatus(
      {
        capacity: { gpus: [0], cpus: [0, 1, 2, 3], memoryMb: 64 * GB },
        used: { gpus: [0], cpus: [0, 1, 2, 3], memoryMb: 16 * GB },
        running: [alice],
        queue: [carol],
      },
      { backendColumn: true },
    );
    expect(lines.filter((line) => line.includes('BACKEND'))).toHaveLength(2);
  });
});
