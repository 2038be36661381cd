/**
 * Waiting for a job's container to exit when the Docker engine may go away meanwhile (dockerd
 * restarted, its socket closed): that is not the job ending, so the engine is asked again before
 * anything is released.
 */
import createDebug from 'debug';
import { DockerError } from '../core/errors.js';
import type { ContainerEngine } from '../docker/engine.js';

const debug = createDebug('rp:run');

/**
 * The Docker engine stopped answering while the job ran (dockerd restarted, its socket closed).
 * That is not the job ending: its container may still run on the GPUs, so its grant is kept until
 * the container is confirmed gone (the reaper decides once the engine answers again).
 */
export class EngineLostError extends DockerError {}

/**
 * The engine answered that the job's container no longer exists (removed behind rp's back, or by
 * an engine restart that cleaned up): it holds nothing, so the job ends and its grant is released.
 */
export class ContainerGoneError extends DockerError {}

/** How long to keep asking an engine that stopped answering about a job's container. */
export const ENGINE_RETRY_DELAYS_MS = [500, 1_000, 2_000, 4_000, 8_000];

/**
 * The container's exit code. When waiting on it fails (the engine restarted, its socket closed),
 * asks the engine again with backoff: an exited container gives its code, a running one is waited
 * for again, a container that is gone (or an engine that does not come back) is EngineLostError.
 */
export async function waitForExit(
  engine: ContainerEngine,
  id: string,
  retryDelaysMs: readonly number[] = ENGINE_RETRY_DELAYS_MS,
): Promise<number> {
  let lastError: unknown;
  for (let attempt = 0; attempt <= retryDelaysMs.length; attempt += 1) {
    try {
      return await engine.wait(id);
    } catch (error) {
      lastError = error;
      debug('waiting for %s failed: %s', id, (error as Error).message);
    }
    for (; attempt < retryDelaysMs.length; attempt += 1) {
      await sleep(retryDelaysMs[attempt] ?? 0);
      let state;
      try {
        state = await engine.inspectContainer(id);
      } catch (error) {
        lastError = error;
        continue;
      }
      if (state === undefined) {
        throw new ContainerGoneError(
          `the job's container ${id.slice(0, 12)} disappeared while the job ran`,
          { hint: 'the Docker engine may have been restarted or cleaned up; run the job again' },
        );
      }
      if (!state.running && state.exitCode !== undefined) return state.exitCode;
      break;
    }
  }
  throw new EngineLostError(
    `lost the Docker engine while the job ran: ${(lastError as Error | undefined)?.message ?? 'no answer'}`,
    {
      hint:
        'the job keeps its GPUs and cores until its container is confirmed gone; once the ' +
        'engine answers again, any rp command cleans up ("rp ps" shows it)',
      cause: lastError,
    },
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
