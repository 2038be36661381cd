/**
 * Reading the event stream of a Docker image build. dockerode's followProgress reports success
 * even when a step failed, so every event is inspected here for `error`/`errorDetail`, and the
 * current step and the last lines of output are kept to explain a failure.
 */

/** One JSON event of the build stream (classic builder). */
export interface BuildEvent {
  stream?: string;
  status?: string;
  progress?: string;
  id?: string;
  error?: string;
  errorDetail?: { code?: number; message?: string };
  aux?: { ID?: string };
}

/** What a consumer of the build sees: a new step, or a line of output of the current one. */
export type BuildUpdate = { kind: 'step'; step: string } | { kind: 'output'; line: string };

export const OUTPUT_TAIL_LINES = 20;

export interface BuildLog {
  step: string | undefined;
  tail: string[];
  error: string | undefined;
  imageId: string | undefined;
}

export function emptyBuildLog(): BuildLog {
  return { step: undefined, tail: [], error: undefined, imageId: undefined };
}

const STEP_LINE = /^Step (\d+\/\d+) : (.*)$/;
/** The classic builder's own bookkeeping between steps: not the step's output. */
const BOOKKEEPING =
  /^(?: ---> |Removing intermediate container |Successfully built |Successfully tagged )/;

/** Folds one event into the log and returns the updates to show. Pure. */
export function readBuildEvent(
  log: BuildLog,
  event: BuildEvent,
): { log: BuildLog; updates: BuildUpdate[] } {
  const updates: BuildUpdate[] = [];
  let { step, tail, error, imageId } = log;
  if (event.error !== undefined || event.errorDetail !== undefined) {
    error = event.errorDetail?.message ?? event.error ?? 'unknown build error';
  }
  if (event.aux?.ID) imageId = event.aux.ID;
  const text =
    event.stream ?? (event.status ? [event.status, event.progress].filter(Boolean).join(' ') : '');
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/\s+$/, '');
    if (line === '' || BOOKKEEPING.test(line)) continue;
    const stepMatch = STEP_LINE.exec(line);
    if (stepMatch) {
      step = `${stepMatch[1]} ${stepMatch[2]}`;
      tail = [];
      updates.push({ kind: 'step', step });
    } else {
      tail = [...tail, line].slice(-OUTPUT_TAIL_LINES);
      updates.push({ kind: 'output', line });
    }
  }
  return { log: { step, tail, error, imageId }, updates };
}
