import { execa } from 'execa';

/** The local base image scripts/ensure-base-image.sh makes; nothing is pulled in tests. */
export const BASE_IMAGE = process.env.RP_BASE_IMAGE ?? 'rp-base:bookworm';

/** Every container a test starts by hand carries this label, so leftovers can be found. */
export const TEST_LABEL = 'rp.test=1';

async function engineAnswers(): Promise<boolean> {
  const result = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], {
    reject: false,
    timeout: 20_000,
  });
  return result.exitCode === 0;
}

/**
 * Whether the Docker tests run. Without an engine they are skipped on a developer's machine but
 * FAIL under CI: a CI run that silently skipped them would prove nothing.
 */
export const dockerAvailable = await engineAnswers();

export function assertDockerForCi(): void {
  if (!dockerAvailable && process.env.CI) {
    throw new Error(
      'CI is set but no Docker engine answers: run scripts/ensure-docker.sh (npm test does)',
    );
  }
}

/** Skip Docker suites only outside CI when no engine answers. */
export const skipWithoutDocker = !dockerAvailable && !process.env.CI;

export async function docker(args: string[], options: { input?: string } = {}) {
  return execa('docker', args, { reject: false, input: options.input });
}

/** Runs a command in a throwaway container of `image` and returns its stdout. */
export async function runInImage(
  image: string,
  command: string[],
  extra: string[] = [],
): Promise<string> {
  const result = await docker(['run', '--rm', '--label', TEST_LABEL, ...extra, image, ...command]);
  if (result.exitCode !== 0) {
    throw new Error(
      `docker run ${image} ${command.join(' ')} failed (${result.exitCode}): ${result.stderr}`,
    );
  }
  return result.stdout.trim();
}

/** Removes every image rp built for a project folder. */
export async function removeProjectImages(projectPath: string): Promise<void> {
  const list = await docker(['images', '-q', '--filter', `label=rp.project-path=${projectPath}`]);
  const ids = [...new Set(list.stdout.split('\n').filter(Boolean))];
  if (ids.length > 0) await docker(['rmi', '-f', ...ids]);
}
