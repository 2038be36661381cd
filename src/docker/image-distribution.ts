/**
 * Getting a job's image to the nodes of a cluster: as an archive on a shared folder (`docker
 * save`), or pushed to a registry the nodes pull from. Either way it is the image the local build
 * made, by its content-hashed reference, so a node runs exactly what a local job would.
 */
import createDebug from 'debug';
import Docker from 'dockerode';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DockerError } from '../core/errors.js';
import { registryCredentials, type RegistryAuth } from '../core/registry-auth.js';
import { randomToken } from '../host/ids.js';
import { messageOf } from './engine-errors.js';

const debug = createDebug('rp:docker');

/**
 * Saves `reference` to `file` unless the file is there already (it is keyed by the content hash:
 * the same name always holds the same image). Written under a temporary name and renamed, so a
 * node never loads half an archive.
 */
export async function saveImageArchive(reference: string, file: string): Promise<'saved' | 'kept'> {
  if (
    await stat(file).then(
      () => true,
      () => false,
    )
  )
    return 'kept';
  await mkdir(dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}-${randomToken(3)}`;
  debug('saving %s to %s…', reference, file);
  try {
    const stream = await new Docker().getImage(reference).get();
    await pipeline(stream, createWriteStream(temp, { mode: 0o644 }));
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new DockerError(`could not save the image ${reference} to ${file}: ${messageOf(error)}`, {
      hint: 'check that the shared folder (backend.sharedDir) is writable and has room',
    });
  }
  debug('saved %s', reference);
  return 'saved';
}

/**
 * Tags `reference` as `<registry>/<repository>:<tag>` and pushes it, with the credentials
 * `docker login` stored for the registry, if any; returns the pushed name.
 */
export async function pushImage(reference: string, registry: string): Promise<string> {
  const docker = new Docker();
  const login = await loginFor(registry);
  const [repository, tag = 'latest'] = splitReference(reference);
  const remote = `${registry}/${repository}`;
  try {
    await docker.getImage(reference).tag({ repo: remote, tag });
    // The engine refuses a push without an X-Registry-Auth header ("Bad parameters and missing
    // X-Registry-Auth"), even to a registry without authentication: send at least an empty one.
    const stream = await docker.getImage(`${remote}:${tag}`).push({ authconfig: login.auth });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve()),
        (event: { error?: string; errorDetail?: { message?: string } }) => {
          // A failed push is reported as an event, not as an error of the stream.
          if (event.error !== undefined)
            reject(new Error(event.errorDetail?.message ?? event.error));
        },
      );
    });
  } catch (error) {
    throw new DockerError(`could not push ${reference} to ${registry}: ${messageOf(error)}`, {
      hint:
        login.helper === undefined
          ? `check backend.registry in the host config, and "docker login ${registry}" if it needs one`
          : `rp reads only the logins stored in ${login.file} itself, and yours for ${registry} are kept by docker-credential-${login.helper}; check backend.registry, or log in without a credential helper`,
    });
  }
  return `${remote}:${tag}`;
}

/** The Docker CLI's stored login for `registry` ($DOCKER_CONFIG or ~/.docker/config.json). */
async function loginFor(
  registry: string,
): Promise<{ auth: RegistryAuth; file: string; helper?: string }> {
  const file = join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
  const text = await readFile(file, 'utf8').catch(() => '');
  const credentials = registryCredentials(text, registry);
  debug('login for %s: %s', registry, credentials.kind);
  if (credentials.kind === 'stored') return { auth: credentials.auth, file };
  return {
    auth: {},
    file,
    ...(credentials.kind === 'helper' ? { helper: credentials.helper } : {}),
  };
}

function splitReference(reference: string): [string, string | undefined] {
  const colon = reference.lastIndexOf(':');
  return colon > reference.lastIndexOf('/')
    ? [reference.slice(0, colon), reference.slice(colon + 1)]
    : [reference, undefined];
}
