import { describe, expect, it } from 'vitest';
import {
  describeReason,
  isEnded,
  mergeStatuses,
  parseSacct,
  parseSqueue,
  phaseOf,
  sacctArguments,
  squeueArguments,
  SQUEUE_FORMAT,
  type SlurmJobStatus,
} from '../../src/core/slurm-states.js';

// Every fixture below is real output of Slurm 22.05.8 on the single-node cluster of
// scripts/slurm/start.sh (proctrack/cgroup, CR_Core_Memory, slurmdbd for sacct; see
// docs/slurm-runtime.md), for jobs named rp1001.. submitted with sbatch --wrap.

// squeue --noheader --states=all --format='%i|%j|%T|%r', just after submitting: rp1001 holds
// both cores; the others wait for resources, behind it, on it, or held, or until an hour later.
const SQUEUE_PENDING = `
21|rp1002|PENDING|Resources
23|rp1004|PENDING|Dependency
24_[0-5%2]|rp1005|PENDING|Priority
25|rp1006|PENDING|BeginTime
26|rp1007|PENDING|Priority
27|rp1008|PENDING|Priority
28|rp1009|PENDING|Priority
22|rp1003|PENDING|JobHeldUser
20|rp1001|RUNNING|None
`;

// The same command 28 s later: two tasks of the array running under its %2 limit, the rest
// pending as one entry; finished jobs listed for MinJobAge seconds.
const SQUEUE_ARRAY_RUNNING = `
20|rp1001|COMPLETED|None
23|rp1004|COMPLETED|None
21|rp1002|FAILED|NonZeroExitCode
24_[2-5%2]|rp1005|PENDING|JobArrayTaskLimit
26|rp1007|PENDING|Resources
27|rp1008|PENDING|Priority
28|rp1009|PENDING|Priority
24_0|rp1005|RUNNING|None
24_1|rp1005|RUNNING|None
`;

// The same command while jobs end: COMPLETING (the Epilog runs), then cancelled (pending, so its
// pending reason stays), out of memory, and a task that exited 1.
const SQUEUE_ENDING = `
20|rp1001|COMPLETED|None
21|rp1002|COMPLETING|NonZeroExitCode
23|rp1004|COMPLETING|None
24_[0-5%2]|rp1005|PENDING|Resources
`;
const SQUEUE_ENDED = `
28|rp1009|CANCELLED|Priority
24_5|rp1005|COMPLETED|None
24_4|rp1005|FAILED|NonZeroExitCode
27|rp1008|OUT_OF_MEMORY|OutOfMemory
26|rp1007|RUNNING|None
36|rp1012|TIMEOUT|TimeLimit
`;

// squeue for an array rp submitted itself (sbatch of sbatchScript() with --array=0-3,5%2).
const SQUEUE_LISTED_ARRAY = `41_[0-3,5%2]|rp1042|PENDING|Resources`;

// sacct --parsable2 --noheader --format=JobID,JobName,State,ExitCode,Reason -j 20,...,28 after
// every job of SQUEUE_PENDING ended (26 was still running then).
const SACCT_ENDED = `
20|rp1001|COMPLETED|0:0|None
20.batch|batch|COMPLETED|0:0|
21|rp1002|FAILED|3:0|None
21.batch|batch|FAILED|3:0|
22|rp1003|CANCELLED by 0|0:0|JobHeldUser
23|rp1004|COMPLETED|0:0|Dependency
23.batch|batch|COMPLETED|0:0|
25|rp1006|CANCELLED by 0|0:0|BeginTime
26|rp1007|RUNNING|0:0|None
26.batch|batch|RUNNING|0:0|
27|rp1008|OUT_OF_MEMORY|0:125|None
27.batch|batch|OUT_OF_MEMORY|0:125|
24_0|rp1005|COMPLETED|0:0|None
24_0.batch|batch|COMPLETED|0:0|
24_1|rp1005|COMPLETED|0:0|None
24_1.batch|batch|COMPLETED|0:0|
24_2|rp1005|COMPLETED|0:0|JobArrayTaskLimit
24_2.batch|batch|COMPLETED|0:0|
24_3|rp1005|COMPLETED|0:0|JobArrayTaskLimit
24_3.batch|batch|COMPLETED|0:0|
24_4|rp1005|FAILED|1:0|JobArrayTaskLimit
24_4.batch|batch|FAILED|1:0|
24_5|rp1005|COMPLETED|0:0|JobArrayTaskLimit
24_5.batch|batch|COMPLETED|0:0|
28|rp1009|CANCELLED by 0|0:0|None
`;

// The same sacct command, 5 s after submitting a job, an array of 4 with %1 and a 1-minute job.
const SACCT_RUNNING = `
34|rp1010|RUNNING|0:0|None
34.batch|batch|RUNNING|0:0|
36|rp1012|PENDING|0:0|None
35_0|rp1011|RUNNING|0:0|None
35_0.batch|batch|RUNNING|0:0|
35_[1-3%1]|rp1011|PENDING|0:0|JobArrayTaskLimit
`;

// ...and after rp1010 was cancelled while running and rp1012 ran past its --time=1.
const SACCT_CANCELLED_AND_TIMEOUT = `
34|rp1010|CANCELLED by 0|0:0|None
34.batch|batch|CANCELLED|0:15|
36|rp1012|TIMEOUT|0:0|None
36.batch|batch|CANCELLED|0:15|
35_0|rp1011|COMPLETED|0:0|None
35_0.batch|batch|COMPLETED|0:0|
`;

function byId(statuses: SlurmJobStatus[]): Map<string, SlurmJobStatus> {
  return new Map(statuses.map((entry) => [entry.slurmId, entry]));
}

describe('the squeue and sacct commands', () => {
  it('asks squeue for all of rp’s jobs at once, ended ones included', () => {
    expect(squeueArguments(['rp1001', 'rp1002'])).toEqual([
      '--noheader',
      '--states=all',
      `--format=${SQUEUE_FORMAT}`,
      '--name=rp1001,rp1002',
    ]);
  });

  it('asks sacct for many jobs in one call', () => {
    expect(sacctArguments(['20', '24', '24_3'])).toEqual([
      '--parsable2',
      '--noheader',
      '--format=JobID,JobName,State,ExitCode,Reason',
      '--jobs=20,24,24_3',
    ]);
  });
});

describe('reading squeue', () => {
  it('gives queued jobs with the reason they wait, and the running one', () => {
    const statuses = byId(parseSqueue(SQUEUE_PENDING));
    expect(statuses.size).toBe(9);
    expect(statuses.get('20')).toEqual({
      slurmId: '20',
      jobId: '20',
      name: 'rp1001',
      rpId: '1001',
      phase: 'running',
      slurmState: 'RUNNING',
    });
    expect(statuses.get('21')).toMatchObject({ phase: 'queued', reason: 'Resources' });
    expect(statuses.get('22')).toMatchObject({ phase: 'queued', reason: 'JobHeldUser' });
    expect(statuses.get('23')).toMatchObject({ phase: 'queued', reason: 'Dependency' });
    expect(statuses.get('25')).toMatchObject({ phase: 'queued', reason: 'BeginTime' });
  });

  it("reads a pending array's tasks from its one entry", () => {
    const array = byId(parseSqueue(SQUEUE_PENDING)).get('24_[0-5%2]');
    expect(array).toMatchObject({
      jobId: '24',
      rpId: '1005',
      phase: 'queued',
      reason: 'Priority',
      pendingTasks: [0, 1, 2, 3, 4, 5],
    });
    expect(array?.task).toBeUndefined();
    const listed = parseSqueue(SQUEUE_LISTED_ARRAY)[0];
    expect(listed?.pendingTasks).toEqual([0, 1, 2, 3, 5]);
  });

  it('gives running array tasks one by one, next to the tasks still waiting', () => {
    const statuses = byId(parseSqueue(SQUEUE_ARRAY_RUNNING));
    expect(statuses.get('24_0')).toMatchObject({ jobId: '24', task: 0, phase: 'running' });
    expect(statuses.get('24_1')).toMatchObject({ jobId: '24', task: 1, phase: 'running' });
    expect(statuses.get('24_[2-5%2]')).toMatchObject({
      reason: 'JobArrayTaskLimit',
      pendingTasks: [2, 3, 4, 5],
    });
  });

  it('reads every ending squeue shows for MinJobAge seconds', () => {
    const phases = Object.fromEntries(
      [...parseSqueue(SQUEUE_ARRAY_RUNNING), ...parseSqueue(SQUEUE_ENDED)].map((entry) => [
        entry.slurmId,
        entry.phase,
      ]),
    );
    expect(phases).toMatchObject({
      '20': 'completed',
      '21': 'failed',
      '24_4': 'failed',
      '24_5': 'completed',
      '27': 'out-of-memory',
      '28': 'cancelled',
      '36': 'timeout',
    });
  });

  it('counts a COMPLETING job as running: it holds its node until the Epilog is done', () => {
    const statuses = byId(parseSqueue(SQUEUE_ENDING));
    expect(statuses.get('21')).toMatchObject({ phase: 'running', slurmState: 'COMPLETING' });
    expect(statuses.get('21')?.reason).toBeUndefined();
  });

  it('drops the stale pending reason of an ended job', () => {
    // Given job 28, cancelled while it waited behind others (squeue still says "Priority")
    const cancelled = byId(parseSqueue(SQUEUE_ENDED)).get('28');
    // Then rp says cancelled, and no reason to wait
    expect(cancelled).toMatchObject({ phase: 'cancelled' });
    expect(cancelled?.reason).toBeUndefined();
  });

  it('keeps a job name holding "|", and leaves other names without an rp id', () => {
    const [entry] = parseSqueue('77|train|v2|RUNNING|None');
    expect(entry).toMatchObject({ slurmId: '77', name: 'train|v2', phase: 'running' });
    expect(entry?.rpId).toBeUndefined();
  });

  it('reads nothing from empty output', () => {
    expect(parseSqueue('')).toEqual([]);
    expect(parseSqueue('\n\n')).toEqual([]);
  });
});

describe('reading sacct', () => {
  it('gives one status per job and array task, with its exit code', () => {
    const statuses = byId(parseSacct(SACCT_ENDED));
    expect([...statuses.keys()].sort()).toEqual(
      [
        '20',
        '21',
        '22',
        '23',
        '24_0',
        '24_1',
        '24_2',
        '24_3',
        '24_4',
        '24_5',
        '25',
        '26',
        '27',
        '28',
      ].sort(),
    );
    expect(statuses.get('21')).toMatchObject({ phase: 'failed', exitCode: 3 });
    expect(statuses.get('24_4')).toMatchObject({
      jobId: '24',
      task: 4,
      phase: 'failed',
      exitCode: 1,
    });
    expect(statuses.get('24_5')).toMatchObject({ phase: 'completed', exitCode: 0 });
    expect(statuses.get('26')).toMatchObject({ phase: 'running' });
  });

  it('reads "CANCELLED by 0" as cancelled, without its stale reason', () => {
    const statuses = byId(parseSacct(SACCT_ENDED));
    expect(statuses.get('22')).toMatchObject({ phase: 'cancelled', slurmState: 'CANCELLED' });
    expect(statuses.get('22')?.reason).toBeUndefined();
    expect(statuses.get('25')).toMatchObject({ phase: 'cancelled' });
  });

  it('reads out-of-memory with the signal sacct gives it', () => {
    expect(byId(parseSacct(SACCT_ENDED)).get('27')).toMatchObject({
      phase: 'out-of-memory',
      exitCode: 0,
      signal: 125,
    });
  });

  it("takes a cancelled or timed-out job's signal from its batch step", () => {
    const statuses = byId(parseSacct(SACCT_CANCELLED_AND_TIMEOUT));
    expect(statuses.get('34')).toMatchObject({ phase: 'cancelled', exitCode: 0, signal: 15 });
    expect(statuses.get('36')).toMatchObject({ phase: 'timeout', exitCode: 0, signal: 15 });
  });

  it('reads pending jobs and pending array tasks while they wait', () => {
    const statuses = byId(parseSacct(SACCT_RUNNING));
    expect(statuses.get('36')).toMatchObject({ phase: 'queued' });
    expect(statuses.get('35_[1-3%1]')).toMatchObject({
      jobId: '35',
      phase: 'queued',
      reason: 'JobArrayTaskLimit',
      pendingTasks: [1, 2, 3],
    });
    expect(statuses.get('35_0')).toMatchObject({ task: 0, phase: 'running' });
  });

  it('makes a failed job whose step ran out of memory out-of-memory', () => {
    const [job] = parseSacct('50|rp1050|FAILED|1:0|None\n50.batch|batch|OUT_OF_MEMORY|0:125|');
    expect(job).toMatchObject({ phase: 'out-of-memory', exitCode: 1 });
  });
});

describe('squeue and sacct together', () => {
  it("prefers squeue's word for a job it still lists, and fills in sacct's exit code", () => {
    // Given job 21 ended a moment ago: squeue lists it as FAILED, without an exit code
    const fromSqueue = parseSqueue(SQUEUE_ARRAY_RUNNING);
    const fromSacct = parseSacct(SACCT_ENDED);
    // When both are merged
    const merged = byId(mergeStatuses(fromSqueue, fromSacct));
    // Then it is failed with the code sacct knows; a running job stays as squeue says
    expect(merged.get('21')).toMatchObject({ phase: 'failed', exitCode: 3 });
    expect(merged.get('24_0')).toMatchObject({ phase: 'running' });
    expect(merged.get('24_0')?.exitCode).toBeUndefined();
    // And jobs squeue no longer lists come from sacct
    expect(merged.get('22')).toMatchObject({ phase: 'cancelled' });
    expect(merged.get('24_4')).toMatchObject({ phase: 'failed', exitCode: 1 });
  });
});

describe('phases and reasons', () => {
  it("maps Slurm's other states too", () => {
    expect(phaseOf('NODE_FAIL')).toBe('node-fail');
    expect(phaseOf('BOOT_FAIL')).toBe('node-fail');
    expect(phaseOf('PREEMPTED')).toBe('preempted');
    expect(phaseOf('DEADLINE')).toBe('timeout');
    expect(phaseOf('REQUEUED')).toBe('queued');
    expect(phaseOf('SUSPENDED')).toBe('running');
    expect(phaseOf('SOMETHING_NEW')).toBe('unknown');
  });

  it('says which phases are endings', () => {
    expect(isEnded('queued')).toBe(false);
    expect(isEnded('running')).toBe(false);
    expect(isEnded('unknown')).toBe(false);
    expect(isEnded('timeout')).toBe(true);
    expect(isEnded('out-of-memory')).toBe(true);
  });

  it('puts the usual reasons in words and passes others through', () => {
    expect(describeReason('Resources')).toBe('waiting for resources');
    expect(describeReason('JobArrayTaskLimit')).toBe(
      "at the array's limit of tasks running at once",
    );
    expect(describeReason('ReqNodeNotAvail,_UnavailableNodes:node[1-2]')).toBe(
      'a required node is not available',
    );
    expect(describeReason('Licenses')).toBe('Licenses');
  });
});
