/**
 * The credentials `docker login` stored for a registry, read from the Docker CLI's config file
 * (`~/.docker/config.json`, or `$DOCKER_CONFIG/config.json`), so that rp can push a Slurm job's
 * image to `backend.registry` as `docker push` would: those kept in the file itself (`auths`), or
 * the credential helper that keeps them (`credHelpers`, `credsStore`), whose answer to `get` is
 * read by credentialsFromHelper. Pure: the file's and the helper's text in, credentials out.
 */

/** What the engine's push takes as X-Registry-Auth (empty: no login). */
export interface RegistryAuth {
  username?: string;
  password?: string;
  identitytoken?: string;
  serveraddress?: string;
}

export type RegistryCredentials =
  { kind: 'stored'; auth: RegistryAuth } | { kind: 'helper'; helper: string } | { kind: 'none' };

/** "https://registry.lab:5000/v1/" and "registry.lab:5000" name the same registry. */
export function registryHost(address: string): string {
  return address
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase();
}

/** The credentials for `registry` in a Docker CLI config file's text (unreadable: none). */
export function registryCredentials(configText: string, registry: string): RegistryCredentials {
  const config = jsonObject(configText);
  if (config === undefined) return { kind: 'none' };
  const { auths, credHelpers, credsStore } = config;
  const host = registryHost(registry);
  const helper = entryFor(credHelpers, host);
  if (typeof helper === 'string' && helper !== '') return { kind: 'helper', helper };
  const entry = entryFor(auths, host) as
    { auth?: unknown; identitytoken?: unknown; username?: unknown; password?: unknown } | undefined;
  if (typeof entry === 'object' && entry !== null) {
    if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
      return { kind: 'stored', auth: { identitytoken: entry.identitytoken, serveraddress: host } };
    }
    const pair =
      typeof entry.auth === 'string' ? Buffer.from(entry.auth, 'base64').toString('utf8') : '';
    const colon = pair.indexOf(':');
    if (colon > 0) {
      return {
        kind: 'stored',
        auth: {
          username: pair.slice(0, colon),
          password: pair.slice(colon + 1),
          serveraddress: host,
        },
      };
    }
    if (typeof entry.username === 'string' && typeof entry.password === 'string') {
      return {
        kind: 'stored',
        auth: { username: entry.username, password: entry.password, serveraddress: host },
      };
    }
  }
  if (typeof credsStore === 'string' && credsStore !== '')
    return { kind: 'helper', helper: credsStore };
  return { kind: 'none' };
}

/** `text` as a JSON object, whose fields are yet to be checked; undefined for anything else. */
function jsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function entryFor(map: unknown, host: string): unknown {
  if (typeof map !== 'object' || map === null) return undefined;
  const key = Object.keys(map).find((candidate) => registryHost(candidate) === host);
  return key === undefined ? undefined : (map as Record<string, unknown>)[key];
}

/** The username a credential helper gives for an identity token instead of a password. */
const TOKEN_USERNAME = '<token>';

/**
 * The credentials in a credential helper's answer to `get` (`{"ServerURL", "Username",
 * "Secret"}`, the protocol of docker-credential-helpers), or undefined when it holds none.
 */
export function credentialsFromHelper(answer: string, registry: string): RegistryAuth | undefined {
  const parsed = jsonObject(answer);
  if (parsed === undefined) return undefined;
  const { Username: username, Secret: secret } = parsed;
  if (typeof secret !== 'string' || secret === '') return undefined;
  const serveraddress = registryHost(registry);
  if (username === TOKEN_USERNAME) return { identitytoken: secret, serveraddress };
  if (typeof username !== 'string' || username === '') return undefined;
  return { username, password: secret, serveraddress };
}
