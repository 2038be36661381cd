/**
 * `rp book`'s flags read into the NewBooking that src/core/bookings.ts decides on. Pure: `now`
 * and the caller are passed in. Each error names the flag and the forms it takes; whether the
 * host can hold the booking is addBooking's to say.
 */
import { roundUpToMinute, type NewBooking } from './bookings.js';
import { DATE_TIME_FORMS, parseDateTime } from './dates.js';
import { LENGTH_FORMS, parseSeconds, SECONDS_PER_MINUTE } from './durations.js';
import { UsageError } from './errors.js';
import { gbToMb } from './units.js';

/** The booking flags as oclif read them (numbers are already whole and not negative). */
export interface BookingFlags {
  gpu?: number;
  cpu?: number;
  /** GB, fractions allowed. */
  mem?: number;
  start?: string;
  duration?: string;
  /** "0,3" or "0-3,6". */
  gpuIds?: string;
}

/** The flags that make a booking: none of them may come with `--cancel` or `--import`. */
export const BOOKING_FLAG_NAMES = ['gpu', 'cpu', 'mem', 'start', 'duration', 'gpu-ids'] as const;

/**
 * The booking the flags ask for, for `who`. The start is rounded up to the next whole minute
 * ("now" is therefore the next minute, unless it is exactly on one) and so is the duration.
 */
export function readBookingFlags(
  flags: BookingFlags,
  who: { user: string; uid: number },
  now: Date,
): NewBooking {
  if (flags.start === undefined) {
    throw new UsageError('--start is required: when the booking begins', {
      hint: `use ${DATE_TIME_FORMS}`,
    });
  }
  if (flags.duration === undefined) {
    throw new UsageError('--duration is required: how long the booking lasts', {
      hint: `use ${LENGTH_FORMS}`,
    });
  }
  const at = parseDateTime(flags.start, now);
  if (at === undefined) {
    throw new UsageError(`--start: "${flags.start}" is not a time`, {
      hint: `use ${DATE_TIME_FORMS}`,
    });
  }
  const seconds = parseSeconds(flags.duration);
  if (seconds === undefined || seconds <= 0) {
    throw new UsageError(`--duration: "${flags.duration}" is not a length of time above 0`, {
      hint: `use ${LENGTH_FORMS}`,
    });
  }
  const start = roundUpToMinute(at);
  const minutes = Math.ceil(seconds / SECONDS_PER_MINUTE);
  const end = new Date(start.getTime() + minutes * SECONDS_PER_MINUTE * 1000);
  const gpuIds = flags.gpuIds === undefined ? undefined : parseGpuIds(flags.gpuIds);
  const gpus = flags.gpu ?? gpuIds?.length ?? 0;
  if (gpuIds !== undefined && gpus !== gpuIds.length) {
    throw new UsageError(
      `--gpu ${gpus} but --gpu-ids ${flags.gpuIds} names ${gpuIds.length} GPU${gpuIds.length === 1 ? '' : 's'}`,
      { hint: 'leave out --gpu: with --gpu-ids it is the number of GPUs named' },
    );
  }
  return {
    user: who.user,
    uid: who.uid,
    start,
    end,
    request: { gpus, cpus: flags.cpu ?? 0, memoryMb: gbToMb(flags.mem ?? 0) },
    ...(gpuIds === undefined ? {} : { gpuIds }),
  };
}

/** No host has this many GPUs; a longer range is a typo, not a list to expand. */
const MAX_GPU_RANGE = 1024;
const ID_LIST = /^\d+(?:-\d+)?(?:,\d+(?:-\d+)?)*$/;

/** "0,3" → [0, 3], "0-2,5" → [0, 1, 2, 5], sorted; a GPU named twice is an error. */
export function parseGpuIds(text: string): number[] {
  const compact = text.replace(/\s+/g, '');
  const bad = (why: string): UsageError =>
    new UsageError(`--gpu-ids: "${text}" ${why}`, {
      hint: 'name GPU indices as nvidia-smi numbers them: 0,3 or 0-3',
    });
  if (!ID_LIST.test(compact)) throw bad('is not a list of GPU indices');
  const ids: number[] = [];
  for (const part of compact.split(',')) {
    const [from, to = from] = part.split('-').map(Number) as [number, number?];
    if (to < from) throw bad(`has a range that runs backwards (${part})`);
    if (to - from >= MAX_GPU_RANGE) throw bad(`has a range longer than any host's GPUs (${part})`);
    for (let id = from; id <= to; id += 1) ids.push(id);
  }
  if (new Set(ids).size !== ids.length) throw bad('names a GPU twice');
  return ids.sort((a, b) => a - b);
}

/** What one `rp book` does: make a booking from its flags, cancel one, or import a CSV file. */
export type BookAction =
  { kind: 'book' } | { kind: 'cancel'; id: string } | { kind: 'import'; file: string };

/**
 * Which of the three `flags` ask for. `--cancel` and `--import` each stand alone: combined with
 * each other or with the flags that make a booking, they are a usage error naming the flags.
 */
export function bookAction(flags: BookingFlags & { cancel?: string; import?: string }): BookAction {
  const given = BOOKING_FLAG_NAMES.filter((name) => flagValue(flags, name) !== undefined).map(
    (name) => `--${name}`,
  );
  if (flags.cancel !== undefined && flags.import !== undefined) {
    throw new UsageError('--cancel and --import cannot be combined', {
      hint: 'cancel a booking and import a file with two commands',
    });
  }
  const alone =
    flags.cancel !== undefined ? '--cancel' : flags.import !== undefined ? '--import' : undefined;
  if (alone !== undefined && given.length > 0) {
    throw new UsageError(`${alone} cannot be combined with ${given.join(', ')}`, {
      hint:
        alone === '--cancel'
          ? 'rp book --cancel ID cancels; the other flags make a new booking'
          : 'the file gives each booking its window and amounts',
    });
  }
  if (flags.cancel !== undefined) return { kind: 'cancel', id: flags.cancel.trim() };
  if (flags.import !== undefined) return { kind: 'import', file: flags.import };
  return { kind: 'book' };
}

function flagValue(flags: BookingFlags, name: (typeof BOOKING_FLAG_NAMES)[number]): unknown {
  return name === 'gpu-ids' ? flags.gpuIds : flags[name];
}
