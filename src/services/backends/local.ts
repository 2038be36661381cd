/**
 * This machine behind the Backend interface: a thin adapter over the existing local services
 * (the ledger, detach-job.ts, kill-job.ts, the history), which it does not change. Submitting
 * detaches the prepared job into the host's queue; states come from the ledger while a job is in
 * it and from the history once it has left; cancelling is `rp kill`; the log is the job's log
 * file. The CLI's local paths still call those services directly; this adapter is what code
 * written against Backend uses for the local case.
 */
import { localPhase } from '../../core/backend-endings.js';
import { UsageError } from '../../core/errors.js';
import type { HistoryRecord, JobEntry } from '../../core/ledger-state.js';
import { currentUser } from '../../host/identity.js';
import { readHistory } from '../../ledger/history.js';
import type { Backend, BackendJob, BackendJobState } from '../backend.js';
import { detachPrepared } from '../detach-job.js';
import type { HostSession } from '../host-session.js';
import { killJob } from '../kill-job.js';
import { readLogFrom } from './log-file.js';

export function openLocalBackend(session: HostSession): Backend {
  const history = async (): Promise<HistoryRecord[]> =>
    (await readHistory(session.store.paths.history)).records;
  const live = async (): Promise<JobEntry[]> => (await session.store.read()).jobs;

  return {
    name: 'local',
    describe: () => ({
      name: 'local',
      reachedVia: 'the ledger and Docker on this machine',
      lines: ['backend: local (this machine: the host ledger and Docker)'],
    }),

    async submit(request) {
      if (request.array !== undefined) {
        throw new UsageError('arrays on this machine are submitted with rp run --array');
      }
      const { job } = await detachPrepared(request.prepared, request.user, {
        session,
        noWait: false,
      });
      return toBackendJob([job]);
    },

    async list() {
      const byId = new Map<string, JobEntry[]>();
      for (const entry of await live()) byId.set(entry.id, [...(byId.get(entry.id) ?? []), entry]);
      return [...byId.values()].map(toBackendJob);
    },

    async find(id) {
      const entries = (await live()).filter((entry) => entry.id === id);
      if (entries.length > 0) return toBackendJob(entries);
      const ended = (await history()).filter((record) => record.id === id);
      return ended.length > 0 ? toBackendJob(ended) : undefined;
    },

    async poll(jobs) {
      const entries = await live();
      let ended: HistoryRecord[] | undefined;
      const states: BackendJobState[] = [];
      for (const job of jobs) {
        for (const task of job.tasks ?? [undefined]) {
          const same = (item: { id: string; array?: { task: number } }): boolean =>
            item.id === job.id && item.array?.task === task;
          const entry = entries.find(same);
          const base = { id: job.id, ...(task === undefined ? {} : { task }) };
          if (entry !== undefined) {
            states.push({ ...base, phase: localPhase(entry) });
            continue;
          }
          ended ??= await history();
          // Ids are reused: the newest record of this id is this job's.
          const record = ended.filter(same).at(-1);
          states.push(
            record === undefined
              ? { ...base, phase: 'unknown' }
              : {
                  ...base,
                  phase: localPhase(record),
                  ...(record.exitCode === undefined ? {} : { exitCode: record.exitCode }),
                  endedAt: record.endedAt,
                },
          );
        }
      }
      return states;
    },

    async cancel(job, { task, graceSeconds }) {
      await killJob({
        id: task === undefined ? job.id : `${job.id}_${task}`,
        requester: currentUser(),
        session,
        ...(graceSeconds === undefined ? {} : { graceSeconds }),
      });
      return {};
    },

    async readLog(job, offset, task) {
      const same = (item: { id: string; array?: { task: number } }): boolean =>
        item.id === job.id && item.array?.task === task;
      const logFile =
        (await live()).find(same)?.logFile ?? (await history()).filter(same).at(-1)?.logFile;
      return logFile === undefined
        ? { data: Buffer.alloc(0), offset }
        : readLogFrom(logFile, offset);
    },
  };
}

function toBackendJob(entries: ReadonlyArray<JobEntry | HistoryRecord>): BackendJob {
  const first = entries[0] as JobEntry | HistoryRecord;
  const tasks = entries.flatMap((entry) => (entry.array ? [entry.array.task] : []));
  return {
    id: first.id,
    backend: 'local',
    backendJobId: first.id,
    user: first.user,
    project: first.project,
    command: first.command,
    request: first.request,
    submittedAt: first.submittedAt,
    ...(tasks.length > 0 ? { tasks } : {}),
  };
}
