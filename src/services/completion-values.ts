/**
 * The values shell completion offers that only this host or user knows: the user's live job ids
 * (root: everyone's), the host's activities, the user's remotes. Read without a lock and without
 * failing: a Tab press must be quick and never print an error.
 */
import { jobLabel } from '../core/ledger-state.js';
import { matchingValues, type ValueKind } from '../core/completion.js';
import type { HostUser } from '../host/identity.js';
import { readLedgerSnapshot } from '../ledger/snapshot.js';
import { activityNames } from './activity-store.js';
import { listRemoteEntries } from './remotes.js';

export interface CompletionSources {
  rpHome: string;
  remotesFile: string;
  user: HostUser;
}

export async function completionValues(
  of: ValueKind,
  prefix: string,
  sources: CompletionSources,
): Promise<string[]> {
  const values = await lookUp(of, sources).catch(() => []);
  return matchingValues(values, prefix);
}

async function lookUp(of: ValueKind, sources: CompletionSources): Promise<string[]> {
  switch (of) {
    case 'job': {
      const ledger = await readLedgerSnapshot(sources.rpHome);
      const mine = (ledger?.jobs ?? []).filter(
        (job) => sources.user.uid === 0 || job.uid === sources.user.uid,
      );
      // An array's id ends all its tasks; each task has its own label too.
      return mine.flatMap((job) => (job.array ? [job.id, jobLabel(job)] : [job.id]));
    }
    case 'activity':
      return activityNames(sources.rpHome);
    case 'remote':
      return (await listRemoteEntries(sources.remotesFile)).map((remote) => remote.name);
  }
}
