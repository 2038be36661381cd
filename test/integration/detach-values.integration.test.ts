import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rp } from '../support/cli.js';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import { createRpProject, type RpProject } from '../support/rp-project.js';
import { makeTempDir } from '../support/tmp.js';

/** The original rp's syntax, as its README shows it: `rp run --detach=True`. */
describe('rp run --detach=VALUE', () => {
  it('refuses a value other than True/true/1/False/false/0 as a usage error naming them', async () => {
    const { dir, cleanup } = await makeTempDir('rp-detach-value-');
    try {
      const result = await rp(['run', '--script=train.sh', '--detach=maybe'], { cwd: dir });
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain('--detach=maybe');
      expect(result.stderr).toContain('True, true, 1, False, false, 0');
    } finally {
      await cleanup();
    }
  });

  describe.skipIf(skipWithoutDocker)('with a real Docker engine', () => {
    let project: RpProject;

    beforeAll(async () => {
      assertDockerForCi();
      project = await createRpProject('rp-detach-value-');
      await project.script('hello.sh', 'echo "hello $1"');
    });

    afterAll(async () => {
      await project?.cleanup();
    });

    it('--detach=True detaches, and the supervisor does not detach again', async () => {
      const result = await project.rp(['run', '--script=hello.sh bg', '--detach=True']);
      expect(result.exitCode, result.stderr).toBe(0);
      const id = /rp(\d{4}) runs in the background/.exec(result.stdout)?.[1];
      expect(id, result.stdout).toBeDefined();
      const followed = await project.rp(['logs', id as string, '-f']);
      expect(followed.exitCode, followed.stderr).toBe(0);
      expect(followed.stdout).toContain('hello bg');
    });

    it('--detach=false runs in the foreground', async () => {
      const result = await project.rp(['run', '--script=hello.sh fg', '--detach=false']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toContain('hello fg');
      expect(result.stdout).not.toContain('runs in the background');
    });
  });
});
