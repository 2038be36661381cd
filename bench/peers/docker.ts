/**
 * The floor: Docker itself. Also the cleanup of whatever the benchmark left in Docker.
 */
import { mustRun, runProcess } from '../lib/process.js';

/** Every container the benchmark starts by hand carries this label (and rp.* ones rp adds). */
export const BENCH_LABEL = 'rp-bench=1';

export async function dockerVersion(): Promise<string | undefined> {
  const result = await runProcess('docker', ['version', '--format', '{{.Server.Version}}'], {
    timeoutMs: 20_000,
  });
  return result.code === 0 ? result.stdout.trim() : undefined;
}

/** `docker run --rm` of `command` in `image`, timed. */
export function dockerRun(image: string, command: string[], extra: string[] = []) {
  return runProcess(
    'docker',
    ['run', '--rm', '--label', BENCH_LABEL, ...extra, image, ...command],
    {
      timeoutMs: 60_000,
    },
  );
}

/** Removes every container (running or not) with this label. */
export async function removeContainers(label: string): Promise<number> {
  const list = await runProcess('docker', ['ps', '-aq', '--filter', `label=${label}`], {
    timeoutMs: 30_000,
  });
  const ids = list.stdout.split('\n').filter(Boolean);
  if (ids.length > 0) await mustRun('docker', ['rm', '-f', ...ids], { timeoutMs: 60_000 });
  return ids.length;
}

/** Removes every image with this label (rp labels its images with rp.project-path). */
export async function removeImages(label: string): Promise<void> {
  const list = await runProcess('docker', ['images', '-q', '--filter', `label=${label}`], {
    timeoutMs: 30_000,
  });
  const ids = [...new Set(list.stdout.split('\n').filter(Boolean))];
  if (ids.length > 0) await runProcess('docker', ['rmi', '-f', ...ids], { timeoutMs: 60_000 });
}
