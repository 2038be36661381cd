/**
 * Admission (rule 1 of the scheduler, see scheduler.ts): a request the host or the user's limit can
 * never satisfy is refused at once, so nobody waits forever for something that cannot happen.
 */
import type { HostCapacity, UserLimits } from './host-config.js';
import { isUserAllowed, limitFor } from './host-config.js';
import type { JobEntry, ResourceRequest } from './ledger-state.js';
import { capacityTotals } from './resource-amounts.js';
import { timeLimitRefusal } from './time-limits.js';
import { formatAmount, RESOURCE_KINDS } from './units.js';

export type AdmissionRefusal =
  /** Not whole numbers, negative, or no CPU or memory at all: a usage error. */
  | 'invalid'
  /** The host's allow-list does not name the user. */
  | 'not-allowed'
  /** More than the whole machine. */
  | 'capacity'
  /** More than the user may ever hold at once. */
  | 'limit'
  /** A time limit above the user's `maxTime`, or none where there is one. */
  | 'time';

export type Admission = { ok: true } | { ok: false; refusal: AdmissionRefusal; reason: string };

/**
 * Whether `request` by `user` can ever be granted on this host. Only what can never fit is refused;
 * a request that fits the user's limit but not on top of what they hold now waits instead. With
 * `timed`, its time limit is checked against the user's `maxTime` too.
 */
export function checkAdmission(
  request: ResourceRequest,
  user: string,
  capacity: HostCapacity,
  limits: UserLimits,
  timed?: Pick<JobEntry, 'timeLimit'>,
): Admission {
  const invalid = invalidRequest(request);
  if (invalid.length > 0) return refuse('invalid', invalid);

  if (!isUserAllowed(limits, user)) {
    return refuse('not-allowed', [`user ${user} is not allowed to use rp on this host`]);
  }

  const total = capacityTotals(capacity);
  const tooBig = RESOURCE_KINDS.filter((kind) => request[kind] > total[kind]).map(
    (kind) =>
      `the request asks for ${formatAmount(kind, request[kind])} but this host has ${
        kind === 'gpus' && total.gpus === 0 ? 'no GPUs' : formatAmount(kind, total[kind])
      }`,
  );
  if (tooBig.length > 0) return refuse('capacity', tooBig);

  const limit = limitFor(limits, user);
  const overLimit = RESOURCE_KINDS.filter(
    (kind) => limit[kind] !== undefined && request[kind] > (limit[kind] ?? 0),
  ).map(
    (kind) =>
      `the request asks for ${formatAmount(kind, request[kind])} but ${user} may hold at most ` +
      `${formatAmount(kind, limit[kind] ?? 0)} at once`,
  );
  if (overLimit.length > 0) return refuse('limit', overLimit);

  if (timed !== undefined) {
    const tooLong = timeLimitRefusal(timed.timeLimit?.seconds, limits, user);
    if (tooLong !== undefined) return refuse('time', [tooLong]);
  }
  return { ok: true };
}

function refuse(refusal: AdmissionRefusal, reasons: string[]): Admission {
  return { ok: false, refusal, reason: reasons.join('; ') };
}

function invalidRequest(request: ResourceRequest): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(request.gpus) || request.gpus < 0) {
    problems.push(`GPUs must be a whole number, 0 or more (got ${request.gpus})`);
  }
  // A container always runs on at least one core and needs some memory: zero is a mistake, not
  // "no limit".
  if (!Number.isInteger(request.cpus) || request.cpus < 1) {
    problems.push(`CPUs must be a whole number, 1 or more (got ${request.cpus})`);
  }
  if (!Number.isInteger(request.memoryMb) || request.memoryMb < 1) {
    problems.push(`memory must be a whole number of MB, 1 or more (got ${request.memoryMb})`);
  }
  return problems;
}
