import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { emptyLedger } from '../../src/core/ledger-state.js';
import { DockerError } from '../../src/core/errors.js';
import type { ContainerEngine, EngineInfo } from '../../src/docker/engine.js';
import { manualClock } from '../../src/host/clock.js';
import { EngineMismatchError, engineFilePath } from '../../src/ledger/engine-id.js';
import { openLedger } from '../../src/ledger/store.js';
import { engineIdentity } from '../../src/services/engine-identity.js';
import { makeTempDir } from '../support/tmp.js';

/**
 * When the check runs, and what a failed one stops. The engine here only counts calls: what
 * `docker info` answers is covered by the integration tests against the real engine.
 */
describe('engineIdentity', () => {
  let rpHome: string;
  let cleanup: () => Promise<void>;
  const clock = manualClock('2025-06-01T12:00:00.000Z');

  beforeEach(async () => {
    ({ dir: rpHome, cleanup } = await makeTempDir('rp-engine-identity-'));
  });
  afterEach(async () => {
    await cleanup();
  });

  /** An engine reporting `info` (or failing with it), counting what is called. */
  function countingEngine(info: () => Promise<EngineInfo>) {
    const calls: string[] = [];
    const engine = {
      engineInfo: async () => {
        calls.push('engineInfo');
        return info();
      },
      ping: async () => {
        calls.push('ping');
      },
      listQueueContainers: async () => {
        calls.push('listQueueContainers');
        return [];
      },
    } as unknown as ContainerEngine;
    return { engine, calls };
  }

  const recordFor = async (id: string) => {
    await mkdir(dirname(engineFilePath(rpHome)), { recursive: true });
    await writeFile(
      engineFilePath(rpHome),
      JSON.stringify({ version: 1, id, name: 'gpu1', recordedAt: clock.now().toISOString() }),
    );
  };

  it('asks the engine once, at the first call that acts on the queue', async () => {
    const { engine, calls } = countingEngine(async () => ({ id: 'A', name: 'gpu1' }));
    const identity = engineIdentity({ rpHome, engine, clock, dockerHost: undefined });

    await identity.engine.ping();
    expect(calls).toEqual(['ping']);

    await identity.engine.listQueueContainers(rpHome);
    await identity.engine.listQueueContainers(rpHome);
    expect(calls).toEqual(['ping', 'engineInfo', 'listQueueContainers', 'listQueueContainers']);
  });

  it('refuses every later engine call and ledger use after a mismatch', async () => {
    await recordFor('A');
    const { engine, calls } = countingEngine(async () => ({ id: 'B', name: 'gpu1' }));
    const identity = engineIdentity({ rpHome, engine, clock, dockerHost: undefined });
    const store = identity.guardStore(await openLedger({ rpHome, clock, recover: async () => [] }));
    // Until the check has run, the ledger is usable (a listing without orphans asks no engine).
    expect(await store.read()).toEqual(emptyLedger());

    await expect(identity.engine.listQueueContainers(rpHome)).rejects.toThrow(EngineMismatchError);
    await expect(identity.engine.listQueueContainers(rpHome)).rejects.toThrow(EngineMismatchError);
    await expect(store.read()).rejects.toThrow(EngineMismatchError);
    await expect(store.transact((state) => ({ state, result: 1 }))).rejects.toThrow(
      EngineMismatchError,
    );
    expect(calls).toEqual(['engineInfo']);
  });

  it('asks again after Docker failed, since nothing was learnt', async () => {
    let fail = true;
    const { engine, calls } = countingEngine(async () => {
      if (fail) throw new DockerError('the Docker engine is not running on this machine');
      return { id: 'A', name: 'gpu1' };
    });
    const identity = engineIdentity({ rpHome, engine, clock, dockerHost: undefined });

    await expect(identity.engine.listQueueContainers(rpHome)).rejects.toThrow(DockerError);
    fail = false;
    await identity.engine.listQueueContainers(rpHome);

    expect(calls).toEqual(['engineInfo', 'engineInfo', 'listQueueContainers']);
  });
});
