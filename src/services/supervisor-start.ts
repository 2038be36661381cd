/**
 * Making sure the host supervisor (host-supervisor.ts) runs while detached jobs exist: called
 * after a detached submission and by every reaping pass, so a supervisor that was killed, or a
 * reboot, costs only the time until the next rp command. It is started as a hidden `rp supervise`
 * in a session of its own, with its own output appended to `<queue>/supervisor.log`.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import createDebug from 'debug';
import { detachedJobs } from '../core/host-supervision.js';
import type { LedgerState } from '../core/ledger-state.js';
import { spawnDetached } from '../host/exec.js';
import { RP_BIN } from '../host/package-info.js';
import { isProcessAlive } from '../host/process.js';
import type { HostSession } from './host-session.js';

const debug = createDebug('rp:supervisor');

export const SUPERVISOR_LOG = 'supervisor.log';

/**
 * Starts a host supervisor when `state` (read now when not given) has detached jobs and no live
 * supervisor. Two callers may both start one: the election lets one of them run. True when one
 * was started.
 */
export async function ensureHostSupervisor(
  session: HostSession,
  state?: LedgerState,
): Promise<boolean> {
  const current = state ?? (await session.store.read());
  if (detachedJobs(current).length === 0) return false;
  const recorded = current.hostSupervisor;
  if (recorded && (await isProcessAlive(recorded))) return false;
  const outputFile = await supervisorLog(session);
  const child = spawnDetached(process.execPath, [RP_BIN, 'supervise'], { cwd: '/', outputFile });
  debug('started a host supervisor, pid %d', child.pid);
  return true;
}

/** The supervisor's log, group-writable so whoever starts the next one can append to it. */
async function supervisorLog(session: HostSession): Promise<string> {
  const path = join(session.store.paths.dir, SUPERVISOR_LOG);
  try {
    const handle = await open(path, 'a', 0o664);
    await handle.chmod(0o664).catch(() => undefined);
    await handle.close();
    return path;
  } catch (error) {
    debug('cannot append to %s: %s', path, (error as Error).message);
    return '/dev/null';
  }
}
