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
import {
  credentialsFromHelper,
  registryCredentials,
  registryHost,
  type RegistryAuth,
} from '../core/registry-auth.js';
import { ProgramNotFoundError, runProgram } from '../host/exec.js';
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
          : `the login came from docker-credential-${login.helper} (named in ${login.file}); check backend.registry, and "docker login ${registry}" if it needs a new one`,
    });
  }
  return `${remote}:${tag}`;
}

/**
 * The Docker CLI's login for `registry` ($DOCKER_CONFIG or ~/.docker/config.json): stored in the
 * file, or asked of the credential helper it names (`docker-credential-<name> get`), as the
 * Docker CLI does.
 */
async function loginFor(
  registry: string,
): Promise<{ auth: RegistryAuth; file: string; helper?: string }> {
  const file = join(process.env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
  const text = await readFile(file, 'utf8').catch(() => '');
  const credentials = registryCredentials(text, registry);
  debug('login for %s: %s', registry, credentials.kind);
  if (credentials.kind === 'stored') return { auth: credentials.auth, file };
  if (credentials.kind === 'none') return { auth: {}, file };
  const { helper } = credentials;
  return { auth: (await askHelper(helper, registry, file)) ?? {}, file, helper };
}

/** A credential helper's login for `registry`, or undefined when it keeps none. */
async function askHelper(
  helper: string,
  registry: string,
  file: string,
): Promise<RegistryAuth | undefined> {
  const program = `docker-credential-${helper}`;
  let answer;
  try {
    answer = await runProgram(program, ['get'], {
      input: registryHost(registry),
      timeoutMs: HELPER_TIMEOUT_MS,
    });
  } catch (error) {
    if (!(error instanceof ProgramNotFoundError)) throw error;
    throw new DockerError(`${file} keeps the logins in ${program}, which is not installed`, {
      hint: `install ${program}, or remove "credsStore"/"credHelpers" from ${file} and run "docker login ${registry}" again`,
    });
  }
  debug('%s get: exit %d', program, answer.exitCode);
  // "credentials not found" is an exit of 1: no login, as for a registry that needs none.
  return answer.exitCode === 0 ? credentialsFromHelper(answer.stdout, registry) : undefined;
}

/** How long a credential helper may take (one that asks for a passphrase never answers). */
const HELPER_TIMEOUT_MS = 30_000;

function splitReference(reference: string): [string, string | undefined] {
  const colon = reference.lastIndexOf(':');
  return colon > reference.lastIndexOf('/')
    ? [reference.slice(0, colon), reference.slice(colon + 1)]
    : [reference, undefined];
}
