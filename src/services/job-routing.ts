/**
 * `rp kill` and `rp logs` on whichever backend holds the job, so that the commands never ask
 * (listings: every-backend-listing.ts). The host config's other backend (a Slurm cluster) is
 * asked first, through the Backend interface: it knows its own jobs by id. A job it does not hold
 * is this machine's, served by the local services with their fuller answers (grants, cleanup,
 * separate stderr).
 */
import { describeKillResult, type KillResult } from '../core/kill.js';
import type { HostUser } from '../host/identity.js';
import {
  describeBackendKill,
  graceCutWarning,
  killBackendJob,
  parseJobTarget,
  printBackendLogs,
  type BackendKillResult,
} from './backend-jobs.js';
import { configuredBackend } from './backends/select.js';
import type { Backend } from './backend.js';
import type { HostSession } from './host-session.js';
import { printJobLogs, type LogsOptions } from './job-logs.js';
import { killJob } from './kill-job.js';

/** This machine, opened only when a job turns out to be its own (Docker is not needed before). */
export interface LocalHost {
  rpHome: string;
  open(): Promise<HostSession>;
  /** The other backend; absent: the host config's (tests give a fake one). */
  otherBackend?: () => Promise<Backend | undefined>;
}

async function otherBackendOf(host: LocalHost): Promise<Backend | undefined> {
  return host.otherBackend ? host.otherBackend() : (await configuredBackend(host.rpHome)).backend;
}

/** What `rp kill` did, wherever the job was. */
export interface KillReport {
  /** `--json`: an object for a job, a list for the tasks of an array. */
  json: KillResult | KillResult[] | BackendKillResult;
  /** For people, one line per job or task. */
  lines: string[];
  /** Jobs whose resources are released later, by their supervisor. */
  pendingCleanup: string[];
  /** What did not go as asked, for a warning each: a grace the backend cut short. */
  warnings: string[];
}

export async function killOnItsBackend(
  host: LocalHost,
  target: string,
  options: { requester: Pick<HostUser, 'name' | 'uid'>; graceSeconds?: number },
): Promise<KillReport> {
  const grace = options.graceSeconds === undefined ? {} : { graceSeconds: options.graceSeconds };
  const backend = await otherBackendOf(host);
  const elsewhere = backend && (await killBackendJob(backend, parseJobTarget(target), grace));
  if (elsewhere) {
    const cut = graceCutWarning(elsewhere, options.graceSeconds);
    return {
      json: elsewhere,
      lines: [describeBackendKill(elsewhere)],
      pendingCleanup: [],
      warnings: cut === undefined ? [] : [cut],
    };
  }
  const session = await host.open();
  const results = await killJob({ id: target, requester: options.requester, session, ...grace });
  const array = results.length > 1 || results[0]?.task !== undefined;
  return {
    json: array ? results : (results[0] as KillResult),
    lines: results.map(describeKillResult),
    pendingCleanup: results
      .filter((result) => result.cleanup === 'pending')
      .map((result) => (result.task === undefined ? result.id : `${result.id}_${result.task}`)),
    warnings: [],
  };
}

/** Prints a job's output (`follow`: until it ends), from the backend that holds it. */
export async function printLogsFromItsBackend(
  host: LocalHost,
  options: LogsOptions & { signal: AbortSignal },
): Promise<void> {
  const backend = await otherBackendOf(host);
  const printed =
    backend !== undefined &&
    (await printBackendLogs(backend, {
      target: parseJobTarget(options.jobId),
      follow: options.follow,
      output: options.output,
      signal: options.signal,
    }));
  if (!printed) await printJobLogs(await host.open(), options);
}
