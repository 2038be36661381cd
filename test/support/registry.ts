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
