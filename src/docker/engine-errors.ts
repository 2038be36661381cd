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
