/**
 * Docker's event stream, the clock of the benchmark: container die and start carry the engine's
 * own nanosecond timestamps, so a hand-over from one job to the next is measured where it
 * happens, not where a poller notices it.
 */
import { createInterface } from 'node:readline';
import { startProcess, stopProcess, until } from './process.js';

export interface ContainerEvent {
  action: string;
  id: string;
  /** Engine time in ms since the epoch, to the microsecond (from timeNano). */
  timeMs: number;
  attributes: Record<string, string>;
}

export interface EventStream {
  events: ContainerEvent[];
  /** Resolves with the first event (seen so far or later) that matches. */
  waitFor(
    what: string,
    match: (event: ContainerEvent) => boolean,
    timeoutMs: number,
  ): Promise<ContainerEvent>;
  stop(): Promise<void>;
}

/** timeNano exceeds 2^53: parse it from the text, not through JSON numbers. */
export function parseEvent(line: string): ContainerEvent | undefined {
  let raw: { Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
  try {
    raw = JSON.parse(line) as typeof raw;
  } catch {
    return undefined;
  }
  const nano = /"timeNano":(\d+)/.exec(line)?.[1];
  if (!raw.Action || !nano) return undefined;
  const ns = BigInt(nano);
  const timeMs = Number(ns / 1000n) / 1000;
  return {
    action: raw.Action,
    id: raw.Actor?.ID ?? '',
    timeMs,
    attributes: raw.Actor?.Attributes ?? {},
  };
}

/** Follows container events whose labels match `label` (key=value), from now on. */
export async function followContainerEvents(label: string): Promise<EventStream> {
  // --since a moment ago: events from between the spawn and the stream's connection are replayed.
  const since = ((Date.now() - 1000) / 1000).toFixed(3);
  const child = startProcess('docker', [
    'events',
    '--since',
    since,
    '--filter',
    'type=container',
    '--filter',
    `label=${label}`,
    '--format',
    '{{json .}}',
  ]);
  const events: ContainerEvent[] = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  lines.on('line', (line) => {
    const event = parseEvent(line);
    if (event) events.push(event);
  });
  let failed: string | undefined;
  child.on('exit', (code) => {
    if (code !== 0 && code !== null) failed = `docker events exited ${code}`;
  });
  return {
    events,
    waitFor: (what, match, timeoutMs) =>
      until(
        what,
        () => {
          if (failed) throw new Error(failed);
          return events.find(match);
        },
        timeoutMs,
        10,
      ),
    stop: () => stopProcess(child),
  };
}
