/**
 * How `rp activity` shows activities, their status and what a drain did. The status and drain
 * views are structural, keeping src/ui free of service imports.
 */
import type { Activity } from '../core/activities.js';
import { formatBytes } from '../core/units.js';
import { renderTable } from './tables.js';

export function renderActivities(activities: readonly Activity[]): string[] {
  if (activities.length === 0) return ['No activities are defined on this host.'];
  return renderTable(
    [
      { header: 'NAME' },
      { header: 'DROP FOLDER' },
      { header: 'SCRIPT' },
      { header: 'EACH JOB' },
      { header: 'ACCEPTS' },
    ],
    activities.map((activity) => [
      activity.name,
      activity.dropDir,
      activity.script,
      requestText(activity),
      activity.accept?.join(',') ?? 'any file',
    ]),
  );
}

export function describeActivity(activity: Activity): string[] {
  return [
    `Activity:     ${activity.name}`,
    `Drop folder:  ${activity.dropDir}`,
    `Project:      ${activity.project}`,
    `Script:       ${activity.script}`,
    `Each job:     ${requestText(activity)}`,
    `Accepts:      ${activity.accept?.join(', ') ?? 'any file'}` +
      (activity.maxSizeBytes === undefined
        ? ''
        : `, at most ${formatBytes(activity.maxSizeBytes)}`),
    `Complete:     unchanged for ${activity.stableSeconds} s, or NAME.done beside it`,
    `Input:        ${activity.keepInput ? 'kept in the output folder' : 'removed after a success'}`,
    `Results:      ~/rp-output/${activity.name}/<name>-<job>/ of whoever dropped the file`,
    `Defined:      ${activity.createdAt} by ${activity.createdBy}`,
  ];
}

/** What `activity add` prints: where users drop files, and how. */
export function describeAdded(activity: Activity, hostName: string): string[] {
  return [
    `Added the activity "${activity.name}". Users drop files with:`,
    `  scp FILE ${hostName}:${activity.dropDir}/`,
    `  rp drop ${activity.name} FILE`,
    `Results land in their ~/rp-output/${activity.name}/. The folder is served by`,
    `"rp activity install-service" (systemd) or "rp activity watch".`,
  ];
}

function requestText(activity: Activity): string {
  const { gpus, cpus, memoryGb } = activity.request;
  const parts = [
    gpus === undefined ? undefined : `${gpus} GPU`,
    cpus === undefined ? undefined : `${cpus} CPU`,
    memoryGb === undefined ? undefined : `${memoryGb} GB`,
    activity.time === undefined ? undefined : `≤ ${activity.time}`,
  ].filter((part) => part !== undefined);
  return parts.length === 0 ? "the project's defaults" : parts.join(', ');
}

export interface ActivityStatusView {
  name: string;
  dropDir: string;
  waiting: number | null;
  jobs: ReadonlyArray<{ id: string; user: string; input: string; state: string }>;
  failures: ReadonlyArray<{ at: string; user: string; input: string; reason: string }>;
}

export function renderActivityStatus(statuses: readonly ActivityStatusView[]): string[] {
  if (statuses.length === 0) return ['No activities are defined on this host.'];
  const lines: string[] = [];
  for (const status of statuses) {
    const count = (state: string): number =>
      status.jobs.filter((job) =>
        state === 'queued' ? job.state === 'queued' : job.state !== 'queued',
      ).length;
    const waiting =
      status.waiting === null ? '? (only root may list the folder)' : String(status.waiting);
    if (lines.length > 0) lines.push('');
    lines.push(
      `${status.name}: ${waiting} file(s) arriving, ${count('queued')} queued, ${count('running')} running`,
    );
    if (status.jobs.length > 0) {
      lines.push(
        ...renderTable(
          [{ header: 'JOB' }, { header: 'USER' }, { header: 'STATE' }, { header: 'INPUT' }],
          status.jobs.map((job) => [job.id, job.user, job.state, job.input]),
        ).map((line) => `  ${line}`),
      );
    }
    for (const failure of status.failures) {
      lines.push(`  failed ${failure.at} ${failure.user} ${failure.input}: ${failure.reason}`);
    }
  }
  return lines;
}

export interface DrainReportView {
  queued: ReadonlyArray<{ activity: string; input: string; user: string; job: string }>;
  refused: ReadonlyArray<{ activity: string; input: string; reason: string }>;
  settled: ReadonlyArray<{ activity: string; input: string; job: string; ok: boolean }>;
}

/** One line per thing a drain pass did. */
export function drainLines(report: DrainReportView): string[] {
  return [
    ...report.queued.map(
      (entry) => `${entry.activity}: queued ${entry.input} of ${entry.user} as job ${entry.job}`,
    ),
    ...report.refused.map((entry) => `${entry.activity}: refused ${entry.input}: ${entry.reason}`),
    ...report.settled.map(
      (entry) =>
        `${entry.activity}: job ${entry.job} (${entry.input}) ${entry.ok ? 'succeeded' : 'failed; its input is kept'}`,
    ),
  ];
}
