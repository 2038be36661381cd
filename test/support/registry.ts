import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

const START = fileURLToPath(new URL('../../scripts/registry/start.sh', import.meta.url));

/** The registry scripts/registry/start.sh brings up, as its KEY=VALUE lines describe it. */
export interface Registry {
  /** HOST:PORT, as backend.registry names it. */
  address: string;
  /** The registry's log: one line per request, e.g. `GET /v2/<repo>/manifests/<tag>`. */
  log: string;
  /** The login it asks for, USER:PASSWORD; absent: none. */
  login?: string;
}

/** A second registry that asks for a login, next to the open one (its own state and port). */
export const AUTH_REGISTRY = {
  RP_REGISTRY_STATE: '/var/lib/rp-registry-auth',
  RP_REGISTRY_PORT: '5056',
  RP_REGISTRY_AUTH: 'rptest:rp-test-password',
};

/** Runs scripts/registry/start.sh (idempotent: quick when the registry is up). */
export async function startRegistry(env: Record<string, string> = {}): Promise<Registry> {
  const result = await execa('bash', [START], { reject: false, timeout: 300_000, env });
  if (result.exitCode !== 0) {
    throw new Error(
      `scripts/registry/start.sh failed (${result.exitCode}), so the registry tests cannot run: ${result.stderr}`,
    );
  }
  const value = (key: string): string => {
    const match = new RegExp(`^${key}=(.+)$`, 'm').exec(result.stdout);
    if (!match) throw new Error(`scripts/registry/start.sh did not print ${key}: ${result.stdout}`);
    return match[1] as string;
  };
  return {
    address: value('RP_REGISTRY'),
    log: value('RP_REGISTRY_LOG'),
    ...(env.RP_REGISTRY_AUTH === undefined ? {} : { login: env.RP_REGISTRY_AUTH }),
  };
}

/** GETs a path of the registry's HTTP API (`/v2/_catalog`) and parses its JSON. */
export async function registryApi<T>(registry: Registry, path: string): Promise<T> {
  const response = await fetch(`http://${registry.address}${path}`, { headers: authOf(registry) });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/**
 * Deletes a tag's manifest from the registry (start.sh enables deletes), so a test leaves no
 * image behind; the layers go at the registry's next garbage collection.
 */
export async function deleteFromRegistry(
  registry: Registry,
  repository: string,
  tag: string,
): Promise<void> {
  const manifest = `http://${registry.address}/v2/${repository}/manifests/${tag}`;
  const head = await fetch(manifest, {
    method: 'HEAD',
    headers: {
      Accept: 'application/vnd.docker.distribution.manifest.v2+json',
      ...authOf(registry),
    },
  });
  const digest = head.headers.get('docker-content-digest');
  if (!head.ok || digest === null) return;
  const removed = await fetch(`http://${registry.address}/v2/${repository}/manifests/${digest}`, {
    method: 'DELETE',
    headers: authOf(registry),
  });
  if (!removed.ok) throw new Error(`DELETE ${repository}@${digest}: ${removed.status}`);
}

function authOf(registry: Registry): Record<string, string> {
  return registry.login === undefined
    ? {}
    : { Authorization: `Basic ${Buffer.from(registry.login).toString('base64')}` };
}
