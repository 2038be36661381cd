import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { finish, type HostPolicy } from '../../src/core/queue-transitions.js';
import type { JobEntry, LedgerState } from '../../src/core/ledger-state.js';
import type { ContainerEngine, ContainerState } from '../../src/docker/engine.js';
import { manualClock } from '../../src/host/clock.js';
import { readHistory } from '../../src/ledger/history.js';
import { openLedger, type LedgerStore } from '../../src/ledger/store.js';
import type { HostSession } from '../../src/services/host-session.js';
import { killJob, type KillJobOptions } from '../../src/services/kill-job.js';
import { makeJob } from '../ledger/fixtures/jobs.js';
import { makeTempDir } from '../support/tmp.js';

const policy: HostPolicy = {
  capacity: { gpus: [{ index: 0 }], cpus: [0, 1], memoryMb: 4096 },
  limits: { default: {}, users: {} },
};
const request = { gpus: 1, cpus: 2, memoryMb: 1024 };
const grant = { gpus: [0], cpus: [0, 1], memoryMb: 1024 };
const container = { id: 'c0ffee', name: 'rp1002' };
const alice = { name: 'alice', uid: 1000 };

const queued = makeJob({ id: '1001', seq: 1, state: 'queued', request });
const running = makeJob({ id: '1002', seq: 2, state: 'running', request, grant, container });

/** A Docker engine that only answers what rp kill asks; anything else fails the test. */
function fakeEngine() {
  const unexpected = (name: string) => () => {
    throw new Error(`rp kill should not call engine.${name}`);
  };
  const engine = {
    ping: vi.fn(unexpected('ping')),
    imageExists: vi.fn(unexpected('imageExists')),
    buildImage: vi.fn(unexpected('buildImage')),
    listImages: vi.fn(unexpected('listImages')),
    removeImage: vi.fn(unexpected('removeImage')),
    createJobContainer: vi.fn(unexpected('createJobContainer')),
    attach: vi.fn(unexpected('attach')),
    start: vi.fn(unexpected('start')),
    wait: vi.fn(unexpected('wait')),
    resize: vi.fn(unexpected('resize')),
    stop: vi.fn(async (_id: string, _grace: number) => undefined),
    remove: vi.fn(async (_id: string) => undefined),
    inspectContainer: vi.fn(
      async (_id: string): Promise<ContainerState | undefined> =>
        ({ running: false, exitCode: 137 }) as ContainerState,
    ),
    listJobContainers: vi.fn(async (): Promise<JobEntry[]> => []),
  };
  return engine;
}

describe('killJob (real ledger, fake Docker)', () => {
  let rpHome: string;
  let cleanup: () => Promise<void>;
  let store: LedgerStore;
  const clock = manualClock('2026-02-01T10:00:00.000Z');

  beforeEach(async () => {
    ({ dir: rpHome, cleanup } = await makeTempDir('rp-kill-'));
    store = await openLedger({ rpHome, clock, recover: async () => [] });
  });
  afterEach(() => cleanup());

  async function seed(...jobs: JobEntry[]): Promise<void> {
    await store.transact((state) => ({
      state: { ...state, nextSeq: Math.max(...jobs.map((job) => job.seq)) + 1, jobs },
      result: undefined,
    }));
  }

  function session(engine: ContainerEngine): HostSession {
    return {
      rpHome,
      policy,
      store,
      engine,
      clock,
      reap: async () => ({ reaped: [], orphansRunning: [], unchecked: [] }),
    };
  }

  function kill(
    id: string,
    engine: ContainerEngine,
    extra: Partial<KillJobOptions> = {},
  ): ReturnType<typeof killJob> {
    return killJob({
      id,
      requester: alice,
      session: session(engine),
      isProcessAlive: async () => true,
      graceSeconds: 3,
      settleTimeoutMs: 5_000,
      settlePollMs: 20,
      ...extra,
    });
  }

  const ledgerIds = async (): Promise<string[]> => (await store.read()).jobs.map((job) => job.id);
  const history = async () => (await readHistory(store.paths.history)).records;

  it("removes a queued job with history 'killed' and never calls Docker", async () => {
    await seed(queued, running);
    const engine = fakeEngine();

    const result = await kill('1001', engine);

    expect(result).toMatchObject({ id: '1001', action: 'removed', state: 'queued' });
    expect(await ledgerIds()).toEqual(['1002']);
    expect(await history()).toEqual([expect.objectContaining({ id: '1001', ending: 'killed' })]);
    expect(engine.stop).not.toHaveBeenCalled();
    expect(engine.listJobContainers).not.toHaveBeenCalled();
  });

  it('stops a running job and waits for its live rp run to clean up', async () => {
    await seed(queued, running);
    // The job's rp run: once its container has stopped, it removes it and finishes the job.
    const engine = fakeEngine();
    engine.stop.mockImplementation(async () => {
      setTimeout(() => {
        void store.transact((state: LedgerState) =>
          finish(
            state,
            '1002',
            { ending: 'exited', endedAt: clock.now().toISOString(), exitCode: 143 },
            policy,
            clock.now(),
          ),
        );
      }, 100);
    });

    const result = await kill('1002', engine);

    expect(engine.stop).toHaveBeenCalledWith(container.id, 3);
    expect(result).toMatchObject({ action: 'stopped', cleanup: 'supervisor', container });
    expect(engine.remove).not.toHaveBeenCalled();
    expect(await ledgerIds()).toEqual(['1001']);
  });

  it("removes the container and the entry itself when the job's rp run is dead", async () => {
    await seed(queued, running);
    const engine = fakeEngine();

    const result = await kill('1002', engine, { isProcessAlive: async () => false });

    expect(engine.stop).toHaveBeenCalledWith(container.id, 3);
    expect(engine.remove).toHaveBeenCalledWith(container.id);
    expect(result).toMatchObject({ action: 'stopped', cleanup: 'kill', exitCode: 137 });
    // The queued job got the freed machine.
    expect((await store.read()).jobs).toEqual([
      expect.objectContaining({ id: '1001', state: 'granted' }),
    ]);
    expect(await history()).toEqual([
      expect.objectContaining({ id: '1002', ending: 'killed', exitCode: 137 }),
    ]);
  });

  it('cleans up itself when the rp run dies while it waits', async () => {
    await seed(running);
    let checks = 0;
    const result = await kill('1002', fakeEngine(), {
      isProcessAlive: async () => {
        checks += 1;
        return checks < 3;
      },
    });
    expect(result.cleanup).toBe('kill');
    expect(await ledgerIds()).toEqual([]);
  });

  it('gives up waiting after the timeout, leaving a live rp run its job', async () => {
    await seed(running);
    const result = await kill('1002', fakeEngine(), { settleTimeoutMs: 50 });
    expect(result.cleanup).toBe('pending');
    expect(await ledgerIds()).toEqual(['1002']);
  });

  it("removes a dead rp run's created container of a granted job, and no one else's", async () => {
    const granted = { ...running, state: 'granted' as const, container: undefined };
    await seed(granted);
    const engine = fakeEngine();
    engine.listJobContainers.mockResolvedValue([
      { ...running, container: { id: 'left-behind', name: 'rp1002' } },
      { ...running, seq: 7, container: { id: 'other-submission', name: 'rp1002' } },
    ]);

    const result = await kill('1002', engine, { isProcessAlive: async () => false });

    expect(result).toMatchObject({ action: 'removed', state: 'granted' });
    expect(engine.remove.mock.calls).toEqual([['left-behind']]);
    expect(await ledgerIds()).toEqual([]);
  });

  it("refuses another user's job and touches nothing", async () => {
    await seed(makeJob({ ...running, user: 'bob', uid: 1001 }));
    const engine = fakeEngine();
    await expect(kill('1002', engine)).rejects.toThrow(ConfigError);
    await expect(kill('1002', engine)).rejects.toThrow(/bob's/);
    expect(engine.stop).not.toHaveBeenCalled();
    expect(await ledgerIds()).toEqual(['1002']);
    expect(await history()).toEqual([]);
  });
});
