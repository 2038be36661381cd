import { describe, expect, it } from 'vitest';
import { DockerError } from '../../src/core/errors.js';
import { engineApi, engineEndpoint } from '../../src/docker/engine-api.js';
import { DockerodeEngine } from '../../src/docker/dockerode-engine.js';
import { assertDockerForCi, BASE_IMAGE, skipWithoutDocker } from '../support/docker.js';

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

  it('says the engine is not running when its socket is not there', async () => {
    const api = engineApi({ socketPath: '/nonexistent/docker.sock' });
    const error = await api.ping().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DockerError);
    expect((error as Error).message).toContain('not running');
  });
});
