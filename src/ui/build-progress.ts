/**
 * Build progress on stderr. On a terminal: a live view (ink) where finished steps scroll by and
 * the running step shows its last lines. Otherwise: plain lines, every step and every output line.
 */
import type { BuildUpdate } from '../docker/build-events.js';

/** Mirrors the service's BuildReporter; structural typing keeps src/ui free of service imports. */
export interface BuildProgress {
  reused(reference: string): void;
  started(reference: string): void;
  update(update: BuildUpdate): void;
  /** Resolves once everything about the build has been shown. */
  finished(reference: string, ok: boolean): Promise<void>;
}

export interface ProgressOptions {
  stream: NodeJS.WriteStream;
  /** Print nothing but errors. */
  quiet?: boolean;
}

export async function createBuildProgress(options: ProgressOptions): Promise<BuildProgress> {
  if (options.quiet) return quietProgress();
  // A terminal of unknown width (some pseudo-terminals report 0 columns) gets plain lines.
  if (options.stream.isTTY && (options.stream.columns ?? 0) > 0) {
    const { createLiveBuildProgress } = await import('./build-progress-live.js');
    return createLiveBuildProgress(options.stream);
  }
  return plainBuildProgress(options.stream);
}

export function plainBuildProgress(stream: NodeJS.WritableStream): BuildProgress {
  const write = (line: string): void => {
    stream.write(`${line}\n`);
  };
  return {
    reused: (reference) => write(`image ${reference} is up to date`),
    started: (reference) => write(`building image ${reference}`),
    update: (update) =>
      write(update.kind === 'step' ? `step ${update.step}` : `  | ${update.line}`),
    finished: async (reference, ok) =>
      write(ok ? `built ${reference}` : `build of ${reference} failed`),
  };
}

function quietProgress(): BuildProgress {
  const nothing = (): void => undefined;
  return { reused: nothing, started: nothing, update: nothing, finished: async () => undefined };
}
