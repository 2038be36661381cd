import createDebug from 'debug';
import Docker from 'dockerode';
import type { Readable } from 'node:stream';
import { BuildError, DockerError } from '../core/errors.js';
import {
  emptyBuildLog,
  readBuildEvent,
  type BuildEvent,
  type BuildUpdate,
} from './build-events.js';
import type { ContainerEngine, ImageBuildOptions } from './engine.js';

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
}

function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number } | undefined)?.statusCode;
}

function messageOf(error: unknown): string {
  const json = (error as { json?: { message?: string } } | undefined)?.json;
  if (json?.message) return json.message;
  return error instanceof Error ? error.message : String(error);
}

/** Turns a connection failure into an error that says what to do about it. */
function engineUnreachable(error: unknown): DockerError {
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'EACCES') {
    return new DockerError('permission denied on the Docker socket (/var/run/docker.sock)', {
      hint: 'ask an admin to add you to the docker group (sudo usermod -aG docker $USER), then log in again',
      cause: error,
    });
  }
  if (code === 'ENOENT' || code === 'ECONNREFUSED') {
    return new DockerError('the Docker engine is not running on this machine', {
      hint: 'start it (sudo systemctl start docker), or run scripts/ensure-docker.sh as root',
      cause: error,
    });
  }
  return new DockerError(`the Docker engine answered with an error: ${messageOf(error)}`, {
    cause: error,
  });
}
