/**
 * What every job command needs on this host: its capacity and limits, the ledger, the Docker
 * engine, and the means to tell live processes and containers from dead ones.
 */
import type { HostPolicy } from '../core/queue-transitions.js';
import type { ContainerEngine } from '../docker/engine.js';
import { systemClock, type Clock } from '../host/clock.js';
import { isProcessAlive } from '../host/process.js';
import { reapDead, type ReapReport } from '../ledger/reaper.js';
import { openLedger, type LedgerStore } from '../ledger/store.js';
import { loadHostConfig, rpHomeFromEnv } from './host-setup.js';

export interface HostSession {
  rpHome: string;
  policy: HostPolicy;
  store: LedgerStore;
  engine: ContainerEngine;
  clock: Clock;
  /** Removes ledger entries whose process and container are gone. */
  reap(): Promise<ReapReport>;
}

export async function openHostSession(
  engine: ContainerEngine,
  clock: Clock = systemClock,
): Promise<HostSession> {
  const rpHome = rpHomeFromEnv(process.env);
  const loaded = await loadHostConfig(rpHome);
  const store = await openLedger({
    rpHome,
    clock,
    recover: () => engine.listJobContainers(rpHome),
  });
  const containerIsRunning = async (id: string): Promise<boolean> =>
    (await engine.inspectContainer(id))?.running ?? false;
  return {
    rpHome,
    policy: { capacity: loaded.capacity, limits: loaded.limits },
    store,
    engine,
    clock,
    reap: () => reapDead(store, { isProcessAlive, containerIsRunning, clock }),
  };
}
