import { readdir } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENDED_RECORD_KEPT_MS } from '../../src/core/backend-endings.js';
import {
  openSlurmJobStore,
  slurmJobIds,
  type SlurmJobRecord,
} from '../../src/ledger/slurm-jobs.js';
import { makeTempDir } from '../support/tmp.js';

const NOW = new Date('2026-12-10T12:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;
const ago = (ms: number): string => new Date(NOW.getTime() - ms).toISOString();

let rpHome: string;
let cleanup: () => Promise<void>;

beforeEach(async () => {
  ({ dir: rpHome, cleanup } = await makeTempDir('rp-slurm-records-'));
});

afterEach(async () => {
  await cleanup();
});

function record(id: string, extra: Partial<SlurmJobRecord> = {}): SlurmJobRecord {
  return {
    id,
    slurmJobId: `5${id}`,
    user: 'alice',
    uid: 1000,
    project: { name: 'proj', path: '/home/alice/proj' },
    command: 'train.sh',
    request: { gpus: 1, cpus: 2, memoryMb: 1024 },
    submittedAt: ago(30 * DAY),
    dir: `/shared/rp/jobs/alice/rp${id}-abc`,
    logFile: `/shared/rp/jobs/alice/rp${id}-abc/output.log`,
    statusFile: `/shared/rp/jobs/alice/rp${id}-abc/status`,
    ended: {},
    ...extra,
  };
}

/** A store whose next ids are `ids`, in order, and a way to add a record under the next one. */
function storeWithIds(...ids: string[]) {
  const next = [...ids];
  const store = openSlurmJobStore(rpHome, () => Number(next.shift()) - 1000);
  const add = (each: SlurmJobRecord) => store.create((id) => ({ ...each, id }), new Set<string>());
  return { store, add };
}

describe("the Slurm backend's job records", () => {
  it('Given records, When their ids are asked for, Then each record gives its id; a host without any gives none', async () => {
    expect(await slurmJobIds(rpHome)).toEqual(new Set());
    const { add } = storeWithIds('1001', '4242');
    await add(record('1001'));
    await add(record('4242'));
    expect(await slurmJobIds(rpHome)).toEqual(new Set(['1001', '4242']));
  });

  it('Given records that ended 8 days ago, 6 days ago and not at all, When pruned, Then only the old ending is removed, from disk too', async () => {
    const { store, add } = storeWithIds('1001', '1002', '1003');
    const old = record('1001', {
      ended: { '': { phase: 'completed', exitCode: 0, at: ago(8 * DAY) } },
    });
    const recent = record('1002', {
      ended: { '': { phase: 'failed', exitCode: 3, at: ago(6 * DAY) } },
    });
    const live = record('1003');
    for (const each of [old, recent, live]) await add(each);

    const kept = await store.prune(NOW);

    expect(kept.map((each) => each.id)).toEqual(['1002', '1003']);
    expect((await readdir(store.dir)).sort()).toEqual(['1002.json', '1003.json']);
    expect(await store.get('1001')).toBeUndefined();
  });

  it('Given an array with one task still running, When pruned long after the others ended, Then its record stays until the last task has ended a week ago', async () => {
    const { store, add } = storeWithIds('2001');
    const array = record('2001', {
      array: { indices: [0, 1] },
      ended: { '0': { phase: 'completed', exitCode: 0, at: ago(20 * DAY) } },
    });
    await add(array);
    expect((await store.prune(NOW)).map((each) => each.id)).toEqual(['2001']);

    await store.put({
      ...array,
      ended: { ...array.ended, '1': { phase: 'completed', exitCode: 0, at: ago(2 * DAY) } },
    });
    expect(await store.prune(NOW)).toHaveLength(1);
    const later = new Date(NOW.getTime() + ENDED_RECORD_KEPT_MS);
    expect(await store.prune(later)).toEqual([]);
  });

  it("Given a release that cannot remove one expired job's files, When pruned, Then that record stays for a later prune and the other goes", async () => {
    const { store, add } = storeWithIds('3001', '3002');
    const ended = { '': { phase: 'completed', exitCode: 0, at: ago(8 * DAY) } };
    await add(record('3001', { ended }));
    await add(record('3002', { ended }));
    const asked: string[] = [];
    const release = async (each: SlurmJobRecord): Promise<boolean> => {
      asked.push(each.id);
      return each.id !== '3001';
    };

    const kept = await store.prune(NOW, { release });

    expect(asked.sort()).toEqual(['3001', '3002']);
    expect(kept.map((each) => each.id)).toEqual(['3001']);
    expect(await readdir(store.dir)).toEqual(['3001.json']);
  });

  it('Given no records folder yet, When pruned, Then nothing happens', async () => {
    expect(await openSlurmJobStore(rpHome, () => 0).prune(NOW)).toEqual([]);
  });
});
