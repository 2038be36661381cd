import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertDockerForCi, docker } from '../support/docker.js';
import {
  AUTH_REGISTRY,
  deleteFromRegistry,
  registryApi,
  startRegistry,
  type Registry,
} from '../support/registry.js';
import { createRpProject, editHostConfig, until, type RpProject } from '../support/rp-project.js';
import { inSqueue, scancel, scontrolJob, skipWithoutSlurm, startSlurm } from '../support/slurm.js';

/**
 * `backend.registry`: rp pushes the job's image to a real registry (scripts/registry/start.sh,
 * Debian's docker-registry on 127.0.0.1) and the job script on the node pulls it by its
 * content-hashed tag. The node is this machine, which already has the image from the build: the
 * test removes it while the job waits, so that the job can only run what it pulls.
 */
describe.skipIf(skipWithoutSlurm)('rp run --backend slurm with backend.registry', () => {
  let project: RpProject;
  let registry: Registry;
  const submitted: string[] = [];
  /** What the test pushed, removed from the registry at the end. */
  const pushed: Array<{ repository: string; tag: string }> = [];

  beforeAll(async () => {
    assertDockerForCi();
    await startSlurm();
    registry = await startRegistry();
    project = await createRpProject('rp-slurm-registry-');
    await editHostConfig(project.rpHome, (config) => {
      (config as unknown as Record<string, unknown>).backend = {
        type: 'slurm',
        sharedDir: join(project.dir, '.shared'),
        registry: registry.address,
      };
    });
    await project.script('hello.sh', 'echo "hello from $(hostname) as $(id -u)"');
  });

  afterEach(async () => {
    await scancel(submitted.splice(0));
  });

  afterAll(async () => {
    for (const image of pushed) await deleteFromRegistry(registry, image.repository, image.tag);
    // Removes the project's images by id: the pushed tag and the pulled one go with them.
    await project?.cleanup();
  });

  it('Given backend.registry, When a job is submitted and the node lacks the image, Then rp pushed it by its content hash and the job pulls it from there and runs', async () => {
    // Given: the node's 2 cores taken by another job, so that rp's job waits in the queue.
    const blocker = await execa('sbatch', [
      '--parsable',
      '--cpus-per-task=2',
      '--output=/dev/null',
      '--job-name=rp-test-blocker',
      '--wrap=sleep 600',
    ]);
    const blockerId = blocker.stdout.trim().split(';')[0] as string;
    submitted.push(blockerId);
    await until('the blocking job to run', async () =>
      (await scontrolJob(blockerId)).JobState === 'RUNNING' ? true : undefined,
    );

    // When: rp submits; the job waits behind the blocker.
    const result = await project.rp(['run', '--backend', 'slurm', '--detach', '--script=hello.sh']);
    expect(result.exitCode, result.stderr).toBe(0);
    const match = /waiting to be scheduled as rp(\d{4}) \(slurm job (\d+)\)/.exec(result.stderr);
    if (!match) throw new Error(`no job id in: ${result.stderr}`);
    const [id, slurmJobId] = [match[1] as string, match[2] as string];
    submitted.push(slurmJobId);

    // Then: the image is in the registry under its content-hashed tag...
    const script = await readFile(
      join((await scontrolJob(slurmJobId)).WorkDir as string, 'job.sh'),
      'utf8',
    );
    const local = /^rp_image=(\S+)$/m.exec(script)?.[1] as string;
    const [repository, hash] = local.split(':') as [string, string];
    expect(hash).toMatch(/^[0-9a-f]{12,}$/);
    pushed.push({ repository, tag: hash });
    const catalog = await registryApi<{ repositories: string[] }>(registry, '/v2/_catalog');
    expect(catalog.repositories).toContain(repository);
    const tags = await registryApi<{ tags: string[] }>(registry, `/v2/${repository}/tags/list`);
    expect(tags.tags).toContain(hash);
    // ...and the job script pulls that very name.
    const remote = `${registry.address}/${repository}:${hash}`;
    expect(script).toContain(`docker pull --quiet ${remote}`);

    // When the node has no copy of the image left and the job gets the cores...
    const imageId = (await docker(['image', 'inspect', '--format', '{{.Id}}', local])).stdout;
    const removed = await docker(['rmi', '-f', imageId.trim()]);
    expect(removed.exitCode, removed.stderr).toBe(0);
    const logBefore = (await readFile(registry.log, 'utf8')).length;
    await scancel([blockerId]);

    // Then it pulls the image by its hash from the registry, and runs it.
    const row = await until(
      `rp${id} to end`,
      async () => {
        const ps = await project.rp(['ps', '--json']);
        const rows =
          (JSON.parse(ps.stdout) as { backendJobs?: Array<{ id: string; phase: string }> })
            .backendJobs ?? [];
        const found = rows.find((candidate) => candidate.id === id);
        return found && !['queued', 'running'].includes(found.phase) ? found : undefined;
      },
      120_000,
    );
    const logs = await project.rp(['logs', id]);
    expect(row.phase, logs.stdout).toBe('completed');
    expect(logs.stdout).toMatch(/hello from \S+ as \d+/);
    const requests = (await readFile(registry.log, 'utf8')).slice(logBefore);
    expect(requests).toContain(`/v2/${repository}/manifests/${hash}`);
    expect((await docker(['image', 'inspect', local])).exitCode).toBe(0);
    await until('the Slurm job to be gone', async () =>
      (await inSqueue([slurmJobId])).length === 0 ? true : undefined,
    );

    // The registry's delete works, so that the test leaves no image there.
    await deleteFromRegistry(registry, repository, hash);
    pushed.length = 0;
    const left = await registryApi<{ tags: string[] | null }>(
      registry,
      `/v2/${repository}/tags/list`,
    ).catch(() => ({ tags: null }));
    expect(left.tags ?? []).not.toContain(hash);
  });
});

/**
 * A registry that asks for a login (the same script, htpasswd): rp pushes with the credentials
 * `docker login` stored in the Docker CLI's config.json ($DOCKER_CONFIG here), or with those its
 * credential helper gives, as `docker push` would, and without them the push fails with a hint
 * to log in.
 */
describe.skipIf(skipWithoutSlurm)(
  'rp run --backend slurm with a registry that asks for a login',
  () => {
    let project: RpProject;
    let registry: Registry;
    const pushed: Array<{ repository: string; tag: string }> = [];

    /** A Docker CLI config folder holding `auths`, as `docker login` writes it. */
    const dockerConfig = async (
      name: string,
      auths: Record<string, unknown>,
      more: Record<string, unknown> = {},
    ): Promise<string> => {
      const dir = join(project.dir, name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'config.json'), JSON.stringify({ auths, ...more }));
      return dir;
    };

    beforeAll(async () => {
      assertDockerForCi();
      await startSlurm();
      registry = await startRegistry(AUTH_REGISTRY);
      project = await createRpProject('rp-slurm-login-');
      await editHostConfig(project.rpHome, (config) => {
        (config as unknown as Record<string, unknown>).backend = {
          type: 'slurm',
          sharedDir: join(project.dir, '.shared'),
          registry: registry.address,
        };
      });
      await project.script('hello.sh', 'echo "hello through a login"');
    });

    afterAll(async () => {
      for (const image of pushed) await deleteFromRegistry(registry, image.repository, image.tag);
      await project?.cleanup();
    });

    it('Given no stored login for the registry, When submitted, Then the push is refused and rp exits 125, saying to log in', async () => {
      const DOCKER_CONFIG = await dockerConfig('.docker-none', {});
      const result = await project.rp(['run', '--backend', 'slurm', '--script=hello.sh'], {
        env: { DOCKER_CONFIG },
      });
      expect(result.exitCode, result.stderr).toBe(125);
      expect(result.stderr).toContain(`could not push`);
      expect(result.stderr).toContain(`docker login ${registry.address}`);
    });

    it('Given a credential helper named in config.json but not installed, When submitted, Then rp exits 125 naming the helper', async () => {
      const DOCKER_CONFIG = await dockerConfig(
        '.docker-missing-helper',
        {},
        { credsStore: 'rpnone' },
      );
      const result = await project.rp(['run', '--backend', 'slurm', '--script=hello.sh'], {
        env: { DOCKER_CONFIG },
      });
      expect(result.exitCode, result.stderr).toBe(125);
      expect(result.stderr).toContain('docker-credential-rpnone, which is not installed');
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });

    it('Given the login kept by a credential helper, When submitted, Then rp asks the helper, pushes with its login and the job runs', async () => {
      // A helper as docker-credential-helpers makes them: `get` reads the registry on stdin.
      const bin = join(project.dir, '.helper-bin');
      await mkdir(bin, { recursive: true });
      const [user, secret] = (registry.login as string).split(':') as [string, string];
      const asked = join(bin, 'asked');
      await writeFile(
        join(bin, 'docker-credential-rptest'),
        [
          '#!/bin/sh',
          '[ "$1" = get ] || exit 1',
          'read -r host',
          `echo "$host" >> ${asked}`,
          `[ "$host" = ${registry.address} ] || { echo "credentials not found in native keychain"; exit 1; }`,
          `printf '{"ServerURL":"%s","Username":"${user}","Secret":"${secret}"}\\n' "$host"`,
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      const DOCKER_CONFIG = await dockerConfig('.docker-helper', {}, { credsStore: 'rptest' });
      const result = await project.rp(['run', '--backend', 'slurm', '--script=hello.sh'], {
        env: { DOCKER_CONFIG, PATH: `${bin}:${process.env.PATH ?? ''}` },
      });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toContain('hello through a login');
      expect((await readFile(asked, 'utf8')).trim()).toBe(registry.address);
    });

    it('Given the login docker login stored, When submitted, Then rp pushes with it and the job runs', async () => {
      const login = Buffer.from(registry.login as string).toString('base64');
      const DOCKER_CONFIG = await dockerConfig('.docker-login', {
        [`http://${registry.address}`]: { auth: login },
      });
      const result = await project.rp(['run', '--backend', 'slurm', '--script=hello.sh'], {
        env: { DOCKER_CONFIG },
      });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout).toContain('hello through a login');
      const images = await docker([
        'images',
        '--format',
        '{{.Repository}}:{{.Tag}}',
        '--filter',
        `label=rp.project-path=${project.dir}`,
      ]);
      const local = images.stdout.split('\n').find((name) => name.startsWith('rp/')) as string;
      const [repository, tag] = local.split(':') as [string, string];
      pushed.push({ repository, tag });
      const tags = await registryApi<{ tags: string[] }>(registry, `/v2/${repository}/tags/list`);
      expect(tags.tags).toContain(tag);
    });
  },
);
