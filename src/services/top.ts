/**
 * `rp top`: the host as one snapshot (GPUs with their jobs, users, processes outside rp and
 * figures; cores and memory in use; running jobs with time left; the queue with what each job
 * waits for; bookings of the next 24 h), and a loop that takes a new one whenever the ledger
 * changes and every few seconds for the GPU figures. Snapshots are read without the lock, and
 * nothing is held while a frame is drawn.
 */
import { readGpuStats, type GpuLookOptions } from '../host/gpu-processes.js';
import { waitForFileChange, fileChangeToken } from '../ledger/watch.js';
import { currentBookings } from '../core/bookings.js';
import { bookingView, type BookingView } from './bookings.js';
import { OBSERVE_EVERY_MS } from './gpu-observation.js';
import type { HostSession } from './host-session.js';
import { buildHostStatus, type HostStatus } from './job-status.js';
import { reapQuietly } from './reap-quietly.js';
import { renderTop } from '../ui/top.js';
import { startLiveTop } from '../ui/top-live.js';

/** How far ahead `rp top` shows bookings. */
export const TOP_BOOKINGS_AHEAD_MS = 24 * 60 * 60 * 1000;
/** How often the GPU figures (and times) are refreshed when the ledger does not change. */
export const DEFAULT_TOP_INTERVAL_MS = 3_000;

export interface TopSnapshot extends HostStatus {
  /** When it was taken (ISO). */
  at: string;
  /** Active bookings and those starting within 24 h, by start. */
  bookings: BookingView[];
}

export type TopSession = Pick<HostSession, 'store' | 'policy' | 'reap' | 'reapIfDue' | 'gpus'>;

export interface TopOptions {
  /** Ask nvidia-smi for utilisation and memory (only on a host with GPUs). */
  gpuFigures?: boolean;
  gpu?: GpuLookOptions;
}

/** One picture of the host, read without the lock. */
export async function topSnapshot(
  session: TopSession,
  now: Date,
  options: TopOptions = {},
): Promise<TopSnapshot> {
  const policy = await session.policy();
  const hasGpus = policy.capacity.gpus.length > 0;
  const [gpuStats] = await Promise.all([
    hasGpus && options.gpuFigures !== false ? readGpuStats(options.gpu) : Promise.resolve([]),
    hasGpus ? session.gpus.refresh(policy, now, OBSERVE_EVERY_MS) : Promise.resolve(undefined),
  ]);
  const state = await session.store.read();
  const status = buildHostStatus(state, await session.policy(), now, { gpuStats });
  const horizon = now.getTime() + TOP_BOOKINGS_AHEAD_MS;
  const bookings = currentBookings(state, now)
    .filter((booking) => Date.parse(booking.start) <= horizon)
    .map(bookingView);
  return { at: now.toISOString(), ...status, bookings };
}

export interface TopLoop {
  now: () => Date;
  intervalMs?: number;
  signal: AbortSignal;
  onSnapshot: (snapshot: TopSnapshot) => void;
  options?: TopOptions;
}

/**
 * Takes a snapshot, hands it on, then waits for the ledger to change or the interval to pass,
 * until `signal` aborts. Dead entries are reaped first, then whenever reaping is due on the host.
 */
export async function watchTop(session: TopSession, loop: TopLoop): Promise<void> {
  await reapQuietly(session);
  const ledger = session.store.paths.ledger;
  while (!loop.signal.aborted) {
    const since = await fileChangeToken(ledger);
    loop.onSnapshot(await topSnapshot(session, loop.now(), loop.options));
    await waitForFileChange(ledger, {
      since,
      timeoutMs: loop.intervalMs ?? DEFAULT_TOP_INTERVAL_MS,
      signal: loop.signal,
    });
    await session.reapIfDue().catch(() => undefined);
  }
}

export interface ShowTopOptions {
  now: () => Date;
  intervalMs: number;
  /** Aborted by a signal (Ctrl+C, SIGTERM). */
  signal: AbortSignal;
  /** Where plain frames go (stdout) when there is no terminal to draw on. */
  print: (line: string) => void;
  /** A terminal to draw on (stderr) and read `q` from (stdin); absent: plain frames. */
  terminal?: { output: NodeJS.WriteStream; input: NodeJS.ReadStream };
}

/**
 * The live view until the user quits (`q`) or a signal comes: drawn in place on a terminal, or
 * printed frame after frame, a blank line between them, when there is none.
 */
export async function showTop(
  session: TopSession,
  options: ShowTopOptions,
): Promise<'quit' | 'signal'> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  options.signal.addEventListener('abort', onSignal);
  const live = options.terminal
    ? startLiveTop(options.terminal.output, options.terminal.input)
    : undefined;
  let quit = false;
  void live?.quit.then(() => {
    quit = true;
    stop.abort();
  });
  let frames = 0;
  try {
    await watchTop(session, {
      now: options.now,
      intervalMs: options.intervalMs,
      signal: stop.signal,
      onSnapshot: (snapshot) => {
        if (live !== undefined) {
          live.show(renderTop(snapshot, { live: true }));
          return;
        }
        if (frames++ > 0) options.print('');
        for (const line of renderTop(snapshot)) options.print(line);
      },
    });
  } finally {
    options.signal.removeEventListener('abort', onSignal);
    live?.close();
  }
  return quit ? 'quit' : 'signal';
}
