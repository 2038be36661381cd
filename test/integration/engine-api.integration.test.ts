import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DockerError } from '../../src/core/errors.js';
import { containerApi } from '../../src/docker/container-api.js';
import { engineApi, engineEndpoint, type Endpoint } from '../../src/docker/engine-api.js';
import { DockerodeEngine } from '../../src/docker/dockerode-engine.js';
import { assertDockerForCi, BASE_IMAGE, docker, skipWithoutDocker } from '../support/docker.js';
import { containerSpecFor, testJob } from '../support/job-containers.js';

describe('where a plain request reaches the engine', () => {
  it('reads DOCKER_HOST: the default socket, unix://, tcp://, and nothing else', () => {
    expect(engineEndpoint(undefined)).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(engineEndpoint('unix:///run/user/1000/docker.sock')).toEqual({
      socketPath: '/run/user/1000/docker.sock',
    });
    expect(engineEndpoint('tcp://10.0.0.5:2375')).toEqual({ host: '10.0.0.5', port: 2375 });
    expect(engineEndpoint('ssh://me@gpu1')).toBeUndefined();
  });
});

/** The light client answers as dockerode does (real Docker engine). */
describe.skipIf(skipWithoutDocker)('engine-api against the real engine', () => {
  const endpoint = engineEndpoint(process.env.DOCKER_HOST);

  it('pings, finds an image or not, and names the engine as dockerode does', async () => {
    assertDockerForCi();
    const api = engineApi(endpoint ?? { socketPath: '/var/run/docker.sock' });
    await api.ping();
    expect(await api.imageExists(BASE_IMAGE)).toBe(true);
    expect(await api.imageExists('rp-no-such-image:never')).toBe(false);
    // The same engine, described the same way; its clock moves on between the two questions.
    const { systemTime: apiTime, ...viaApi } = await api.engineInfo();
    const { systemTime: dockerodeTime, ...viaDockerode } = await new DockerodeEngine().engineInfo();
    expect(viaApi).toEqual(viaDockerode);
    expect(Number.isNaN(Date.parse(apiTime ?? ''))).toBe(false);
    expect(Number.isNaN(Date.parse(dockerodeTime ?? ''))).toBe(false);
  });

  it("lists a host's job containers as dockerode does, and no other host's", async () => {
    assertDockerForCi();
    const api = engineApi(endpoint ?? { socketPath: '/var/run/docker.sock' });
    const home = `/tmp/rp-engine-api-${process.pid}`;
    const created: string[] = [];
    const create = async (labels: string[]): Promise<string> => {
      const args = labels.flatMap((label) => ['--label', label]);
      const result = await docker(['create', ...args, BASE_IMAGE, 'true']);
      const id = result.stdout.trim();
      created.push(id);
      return id;
    };
    try {
      // Given two job containers of this host, one of another host and one without a job label
      const first = await create([`rp.home=${home}`, 'rp.job=4321', 'rp.seq=7']);
      await create([`rp.home=${home}`, 'rp.job=4322']);
      await create([`rp.home=${home}-other`, 'rp.job=4323', 'rp.seq=1']);
      await create([`rp.home=${home}`]);

      // When both clients list the host's queue containers
      const viaApi = await api.listQueueContainers(home);
      const viaDockerode = await new DockerodeEngine().listQueueContainers(home);

      // Then they agree, and only the two jobs of this host are there
      const byId = (a: { id: string }, b: { id: string }): number => a.id.localeCompare(b.id);
      expect([...viaApi].sort(byId)).toEqual([...viaDockerode].sort(byId));
      expect(
        viaApi.map((container) => container.job).sort((a, b) => a.id.localeCompare(b.id)),
      ).toEqual([
        { id: '4321', seq: 7 },
        { id: '4322', seq: undefined },
      ]);
      expect(viaApi.find((container) => container.id === first)?.state).toBe('created');
      // and read the same ledger entries from them (none: their labels are not a whole job's)
      expect(await api.listJobContainers(home)).toEqual(
        await new DockerodeEngine().listJobContainers(home),
      );
    } finally {
      if (created.length > 0) await docker(['rm', '-f', ...created]);
    }
  });

  it('says the engine is not running when its socket is not there', async () => {
    const api = engineApi({ socketPath: '/nonexistent/docker.sock' });
    const error = await api.ping().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DockerError);
    expect((error as Error).message).toContain('not running');
  });
});

/** A job container's whole life through rp's HTTP client (real Docker engine). */
describe.skipIf(skipWithoutDocker)('container-api against the real engine', () => {
  const HOME = `/tmp/rp-container-api-${process.pid}`;

  it('creates, attaches, starts and waits: each stream gets its own output, then the exit code', async () => {
    assertDockerForCi();
    const api = containerApi(endpoint());
    // Given a container that writes to both streams, more than one frame, then exits 3
    const script = 'echo out1; echo err1 >&2; seq 1 2000; echo err2 >&2; exit 3';
    const job = testJob({ seq: 1 });
    const ref = await api.createJobContainer(
      containerSpecFor(HOME, job, { command: ['bash', '-c', script] }),
    );
    try {
      const stdout = new PassThrough();
      const stderr = new PassThrough();
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      stdout.on('data', (chunk: Buffer) => out.push(chunk));
      stderr.on('data', (chunk: Buffer) => err.push(chunk));

      // When it is attached before it starts, and waited for
      const { ended } = await api.attach(ref.id, { stdout, stderr });
      await api.start(ref.id);
      const exitCode = await api.wait(ref.id);
      await ended;

      // Then nothing was lost or mixed up, and the exit code is the script's
      const lines = ['out1', ...Array.from({ length: 2000 }, (_, i) => String(i + 1))];
      expect(Buffer.concat(out).toString()).toBe(`${lines.join('\n')}\n`);
      expect(Buffer.concat(err).toString()).toBe('err1\nerr2\n');
      expect(exitCode).toBe(3);
      const state = await api.inspectContainer(ref.id);
      expect(state?.running).toBe(false);
      expect(state?.exitCode).toBe(3);
      expect(state?.labels['rp.job']).toBe(job.id);
    } finally {
      await api.remove(ref.id);
    }
    // And a removed container is gone: inspecting it finds nothing, and stopping, signalling or
    // removing it again has nothing left to do
    expect(await api.inspectContainer(ref.id)).toBeUndefined();
    await api.stop(ref.id, 1);
    await api.signal(ref.id, 'SIGUSR1');
    await api.remove(ref.id);
  });

  it("says Docker's reason when it refuses to create a container", async () => {
    assertDockerForCi();
    const api = containerApi(endpoint());
    const refused = api.createJobContainer(
      containerSpecFor(HOME, testJob({ seq: 1 }), { image: 'rp-no-such-image:never' }),
    );
    await expect(refused).rejects.toBeInstanceOf(DockerError);
    await expect(refused).rejects.toThrow(
      /Docker refused to create the job's container: .*rp-no-such-image/,
    );
  });

  function endpoint(): Endpoint {
    return engineEndpoint(process.env.DOCKER_HOST) ?? { socketPath: '/var/run/docker.sock' };
  }
});
