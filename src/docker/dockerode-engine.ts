import createDebug from 'debug';
import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { BuildError, DockerError } from '../core/errors.js';
import { rawStreamText } from './raw-stream.js';
import {
  emptyBuildLog,
  readBuildEvent,
  type BuildEvent,
  type BuildUpdate,
} from './build-events.js';
import type { JobEntry } from '../core/ledger-state.js';
import type {
  ContainerEngine,
  ContainerIO,
  ContainerRef,
  ContainerState,
  EngineInfo,
  GpuProbe,
  ImageBuildOptions,
  QueueContainer,
} from './engine.js';
import {
  containerActionFailed,
  createRefused,
  engineUnreachable,
  messageOf,
  NOTHING_TO_DO,
  startFailed,
  statusOf,
} from './engine-errors.js';
import { containerStateOf } from './container-api.js';
import { toCreateOptions, type JobContainerSpec } from './job-container.js';
import { IMAGE_LABELS } from './labels.js';
import {
  engineInfoOf,
  jobContainerFilters,
  liveJobsOf,
  queueContainersOf,
  type DockerInfo,
} from './engine-api.js';

const debug = createDebug('rp:docker');

export class DockerodeEngine implements ContainerEngine {
  private readonly docker: Docker;

  constructor(docker: Docker = new Docker()) {
    this.docker = docker;
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (error) {
      throw engineUnreachable(error);
    }
  }

  async imageExists(reference: string): Promise<boolean> {
    try {
      await this.docker.getImage(reference).inspect();
      return true;
    } catch (error) {
      if (statusOf(error) === 404) return false;
      throw engineUnreachable(error);
    }
  }

  async buildImage(
    context: Readable,
    options: ImageBuildOptions,
    onUpdate: (update: BuildUpdate) => void,
  ): Promise<void> {
    debug('building %s', options.tag);
    let contextError: Error | undefined;
    context.on('error', (error) => {
      contextError = error;
    });
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.buildImage(context, {
        t: options.tag,
        dockerfile: options.dockerfile,
        labels: options.labels,
        rm: true,
        forcerm: true,
      });
    } catch (error) {
      throw new DockerError(`the Docker engine refused the build: ${messageOf(error)}`, {
        cause: error,
      });
    }
    let log = emptyBuildLog();
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(
        stream,
        (error) => (error ? reject(error) : resolve()),
        (event: BuildEvent) => {
          const next = readBuildEvent(log, event);
          log = next.log;
          for (const update of next.updates) onUpdate(update);
        },
      );
    }).catch((error: unknown) => {
      throw new DockerError(`the image build stream broke off: ${messageOf(error)}`, {
        cause: error,
      });
    });
    if (contextError) {
      throw new DockerError(`could not send the build context: ${contextError.message}`, {
        cause: contextError,
      });
    }
    if (log.error !== undefined) {
      const at = log.step ? ` at step ${log.step}` : '';
      const tail =
        log.tail.length > 0 ? `\nlast output:\n${log.tail.map((l) => `  | ${l}`).join('\n')}` : '';
      throw new BuildError(
        `the image build failed${at}: ${log.error}${tail}`,
        { step: log.step, outputTail: log.tail },
        { hint: 'fix the step in docker/ (Dockerfile or a hook) and run again' },
      );
    }
    // The build reported no error; still never trust "stream ended" alone.
    if (!(await this.imageExists(options.tag))) {
      throw new BuildError(`the image build ended without producing ${options.tag}`, {
        step: log.step,
        outputTail: log.tail,
      });
    }
    debug('built %s', options.tag);
  }

  async listImages(labels: Record<string, string>): Promise<string[]> {
    const filters = { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`) };
    try {
      const images = await this.docker.listImages({ filters: JSON.stringify(filters) });
      return images
        .flatMap((image) => image.RepoTags ?? [])
        .filter((tag) => tag !== '<none>:<none>');
    } catch (error) {
      throw engineUnreachable(error);
    }
  }

  async removeImage(reference: string): Promise<void> {
    try {
      await this.docker.getImage(reference).remove();
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw new DockerError(`could not remove image ${reference}: ${messageOf(error)}`, {
        cause: error,
      });
    }
  }

  async createJobContainer(spec: JobContainerSpec): Promise<ContainerRef> {
    const options = toCreateOptions(spec);
    try {
      const container = await this.docker.createContainer(options);
      debug('created %s (%s)', options.name, container.id);
      return { id: container.id, name: options.name ?? container.id };
    } catch (error) {
      throw createRefused(error);
    }
  }

  async attach(id: string, io: ContainerIO): Promise<{ ended: Promise<void> }> {
    const container = this.docker.getContainer(id);
    const stream = (await container.attach({
      stream: true,
      stdout: true,
      stderr: true,
      stdin: io.tty !== undefined,
      hijack: io.tty !== undefined,
    })) as NodeJS.ReadWriteStream;
    const ended = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    if (io.tty) {
      stream.pipe(io.stdout, { end: false });
      io.tty.stdin.pipe(stream);
    } else {
      this.docker.modem.demuxStream(stream, io.stdout, io.stderr);
    }
    return { ended };
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (error) {
      throw startFailed(error);
    }
  }

  async wait(id: string): Promise<number> {
    const result = (await this.docker.getContainer(id).wait()) as { StatusCode: number };
    return result.StatusCode;
  }

  async stop(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: graceSeconds });
    } catch (error) {
      if (NOTHING_TO_DO.stop.includes(statusOf(error) ?? 0)) return;
      throw containerActionFailed('stop', id, error);
    }
  }

  async signal(id: string, signal: string): Promise<void> {
    try {
      await this.docker.getContainer(id).kill({ signal });
    } catch (error) {
      if (NOTHING_TO_DO.signal.includes(statusOf(error) ?? 0)) return;
      throw containerActionFailed(`send ${signal} to`, id, error);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (error) {
      if (NOTHING_TO_DO.remove.includes(statusOf(error) ?? 0)) return;
      throw containerActionFailed('remove', id, error);
    }
  }

  async resize(id: string, size: { rows: number; columns: number }): Promise<void> {
    try {
      await this.docker.getContainer(id).resize({ h: size.rows, w: size.columns });
    } catch (error) {
      debug('resize of %s failed: %s', id, messageOf(error));
    }
  }

  async inspectContainer(id: string): Promise<ContainerState | undefined> {
    try {
      return containerStateOf(await this.docker.getContainer(id).inspect());
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw engineUnreachable(error);
    }
  }

  async listJobContainers(rpHome: string): Promise<JobEntry[]> {
    return liveJobsOf(await this.listLabelled(rpHome));
  }

  async listQueueContainers(rpHome: string): Promise<QueueContainer[]> {
    return queueContainersOf(await this.listLabelled(rpHome));
  }

  async engineInfo(): Promise<EngineInfo> {
    try {
      return engineInfoOf((await this.docker.info()) as DockerInfo);
    } catch (error) {
      throw engineUnreachable(error);
    }
  }

  async probeGpuContainer(): Promise<GpuProbe> {
    let images: Docker.ImageInfo[];
    try {
      images = await this.docker.listImages({
        filters: JSON.stringify({ label: [IMAGE_LABELS.contentHash] }),
      });
    } catch (error) {
      throw engineUnreachable(error);
    }
    const image = images
      .sort((a, b) => b.Created - a.Created)
      .flatMap((entry) => entry.RepoTags ?? [])
      .find((tag) => tag !== '<none>:<none>');
    if (image === undefined) return { image, exitCode: 125, output: 'no image built by rp' };
    let container: Docker.Container | undefined;
    try {
      container = await this.docker.createContainer({
        Image: image,
        Entrypoint: ['nvidia-smi'],
        Cmd: ['-L'],
        Labels: { 'rp.doctor': '1' },
        HostConfig: {
          DeviceRequests: [{ Driver: 'nvidia', Count: -1, Capabilities: [['gpu', 'utility']] }],
        },
      });
      await container.start();
      const { StatusCode } = (await container.wait()) as { StatusCode: number };
      const logs = await container.logs({ stdout: true, stderr: true, follow: false });
      return { image, exitCode: StatusCode, output: rawStreamText(logs) };
    } catch (error) {
      return { image, exitCode: 125, output: messageOf(error) };
    } finally {
      await container?.remove({ force: true }).catch(() => undefined);
    }
  }

  /** Every container, in any state, of a job of the queue at `rpHome` (by its labels). */
  private async listLabelled(rpHome: string): Promise<Docker.ContainerInfo[]> {
    try {
      return await this.docker.listContainers({
        all: true,
        filters: jobContainerFilters(rpHome),
      });
    } catch (error) {
      throw engineUnreachable(error);
    }
  }
}
