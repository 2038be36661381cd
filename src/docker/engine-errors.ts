/** What a Docker engine's failures mean for users: shared by both ways rp talks to Docker. */
import { DockerError } from '../core/errors.js';

export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number } | undefined)?.statusCode;
}

export function messageOf(error: unknown): string {
  const json = (error as { json?: { message?: string } } | undefined)?.json;
  if (json?.message) return json.message;
  return error instanceof Error ? error.message : String(error);
}

/** Turns a connection failure into an error that says what to do about it. */
export function engineUnreachable(error: unknown): DockerError {
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

/** Docker refused a job's container (a bad image, a name in use, a device it cannot give). */
export function createRefused(error: unknown): DockerError {
  return new DockerError(`Docker refused to create the job's container: ${messageOf(error)}`, {
    cause: error,
  });
}

/** A job's container that would not start; a GPU job on a host without the NVIDIA runtime. */
export function startFailed(error: unknown): DockerError {
  return new DockerError(`the job's container did not start: ${messageOf(error)}`, {
    cause: error,
    hint: /nvidia|device driver|gpu/i.test(messageOf(error))
      ? 'GPU jobs need the NVIDIA container runtime on this host (nvidia-container-toolkit)'
      : undefined,
  });
}

/** A stop, signal or removal that failed for another reason than the container being gone. */
export function containerActionFailed(what: string, id: string, error: unknown): DockerError {
  return new DockerError(`could not ${what} container ${id}: ${messageOf(error)}`, {
    cause: error,
  });
}

/**
 * The answers that mean a stop, signal or removal has nothing left to do: 304 already stopped,
 * 404 already gone, 409 not running (a signal) or already being removed (a removal).
 */
export const NOTHING_TO_DO: Readonly<Record<'stop' | 'signal' | 'remove', readonly number[]>> = {
  stop: [304, 404],
  signal: [409, 404],
  remove: [404, 409],
};
