import { execa } from 'execa';
import { fileURLToPath } from 'node:url';

const START = fileURLToPath(new URL('../../scripts/registry/start.sh', import.meta.url));

/** The registry scripts/registry/start.sh brings up, as its KEY=VALUE lines describe it. */
export interface Registry {
  /** HOST:PORT, as backend.registry names it. */
  address: string;
  /** The registry's log: one line per request, e.g. `GET /v2/<repo>/manifests/<tag>`. */
  log: string;
}

/** Runs scripts/registry/start.sh (idempotent: quick when the registry is up). */
export async function startRegistry(): Promise<Registry> {
  const result = await execa('bash', [START], { reject: false, timeout: 300_000 });
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
  return { address: value('RP_REGISTRY'), log: value('RP_REGISTRY_LOG') };
}

/** GETs a path of the registry's HTTP API (`/v2/_catalog`) and parses its JSON. */
export async function registryApi<T>(registry: Registry, path: string): Promise<T> {
  const response = await fetch(`http://${registry.address}${path}`);
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
    headers: { Accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  const digest = head.headers.get('docker-content-digest');
  if (!head.ok || digest === null) return;
  const removed = await fetch(`http://${registry.address}/v2/${repository}/manifests/${digest}`, {
    method: 'DELETE',
  });
  if (!removed.ok) throw new Error(`DELETE ${repository}@${digest}: ${removed.status}`);
}
