/**
 * One engine per ledger (see src/ledger/engine-id.ts), checked once per process and lazily: before
 * the first engine call made for the queue, so a listing that never asks Docker (`rp ps` on a
 * ledger without orphans) never pays for `docker info` either.
 */
import createDebug from 'debug';
import type { ContainerEngine } from '../docker/engine.js';
import type { Clock } from '../host/clock.js';
import {
  EngineMismatchError,
  engineFilePath,
  engineMismatch,
  recordedEngine,
} from '../ledger/engine-id.js';
import type { LedgerStore } from '../ledger/store.js';

const debug = createDebug('rp:docker');

/** Engine calls that say nothing about the queue, and so need no check. */
const UNCHECKED: ReadonlySet<string> = new Set(['ping', 'engineInfo']);

export interface EngineIdentityOptions {
  rpHome: string;
  engine: ContainerEngine;
  clock: Clock;
  /** This process's DOCKER_HOST, named in the error. */
  dockerHost: string | undefined;
}

export interface EngineIdentity {
  /** The engine, checked against the ledger's before its first call that acts on the queue. */
  engine: ContainerEngine;
  /**
   * The store, refusing every use once the check has failed: also stops callers that only log
   * a failed reap (a listing), since its own entries are all this process could still trust.
   */
  guardStore(store: LedgerStore): LedgerStore;
}

export function engineIdentity(options: EngineIdentityOptions): EngineIdentity {
  const { rpHome, engine } = options;
  let checked: Promise<void> | undefined;
  let refusal: EngineMismatchError | undefined;

  async function compare(): Promise<void> {
    const current = await engine.engineInfo();
    if (current.id === '') {
      debug('the engine reports no id; the ledger is not tied to it');
      return;
    }
    const recorded = await recordedEngine(rpHome, current, options.clock.now());
    const where = { file: engineFilePath(rpHome), dockerHost: options.dockerHost };
    const mismatch = engineMismatch(recorded, current, where);
    if (mismatch) throw mismatch;
  }

  function check(): Promise<void> {
    if (refusal) return Promise.reject(refusal);
    checked ??= compare().catch((error: unknown) => {
      if (error instanceof EngineMismatchError) refusal = error;
      // Docker or the file failed: nothing is known yet, so ask again on the next call.
      else checked = undefined;
      throw error;
    });
    return checked;
  }

  const checkedEngine = new Proxy(engine, {
    get: (target, method, receiver) => {
      const value: unknown = Reflect.get(target, method, receiver);
      if (typeof method !== 'string' || UNCHECKED.has(method) || typeof value !== 'function') {
        return value;
      }
      return async (...args: unknown[]) => {
        await check();
        return (value as (...params: unknown[]) => unknown).apply(target, args);
      };
    },
  });

  return {
    engine: checkedEngine,
    // Every method of LedgerStore is async, so a refusal is a rejected promise like any failure.
    guardStore: (store) =>
      new Proxy(store, {
        get: (target, method, receiver) => {
          const value: unknown = Reflect.get(target, method, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) =>
            refusal
              ? Promise.reject(refusal)
              : (value as (...params: unknown[]) => unknown).apply(target, args);
        },
      }),
  };
}
