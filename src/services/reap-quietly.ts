/**
 * Listings and reports remove the entries of dead jobs first, so nobody sees (or is billed for) a
 * job that no longer runs. They must still show when that fails (a ledger this user may read but
 * not lock, a Docker hiccup): the entries stay, and the next rp process that can reap them will.
 */
import createDebug from 'debug';
import { EngineMismatchError } from '../ledger/engine-id.js';
import type { HostSession } from './host-session.js';

const debug = createDebug('rp:status');

export async function reapQuietly(session: Pick<HostSession, 'reap'>): Promise<void> {
  try {
    const report = await session.reap();
    if (report.reaped.length > 0) {
      debug('reaped %s', report.reaped.map((job) => job.id).join(', '));
    }
  } catch (error) {
    // Another engine than the queue's sees none of its containers: reporting as if nothing ran
    // would mislead, so that one is an error.
    if (error instanceof EngineMismatchError) throw error;
    debug('could not reap dead entries first: %s', (error as Error).message);
  }
}
