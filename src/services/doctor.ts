/**
 * `rp doctor`: gathers the facts of an installation (Docker, GPUs in a container, $RP_HOME's
 * modes, the ledger and its lock, containers against the ledger, clocks, disk, the inventory)
 * and has src/core/doctor.ts judge them. Every fact is gathered on its own, so one broken part
 * (no Docker, a corrupt config) never hides what the others say; nothing here changes the host.
 */
import { readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  judgeClock,
  judgeContainers,
  judgeDisk,
  judgeDocker,
  judgeGpuContainer,
  judgeHome,
  judgeInventory,
  judgeLedger,
  judgeLock,
  type DiskFacts,
  type DoctorCheck,
  type PathFacts,
} from '../core/doctor.js';
import { parseLedgerText, type LedgerParse } from '../core/ledger-schema.js';
import type { JobEntry } from '../core/ledger-state.js';
import { parseStoredInventory } from '../core/stored-inventory.js';
import type { ContainerEngine, EngineInfo, QueueContainer } from '../docker/engine.js';
import { detectCpuCount, detectMemoryTotalMb, lookupGroup, probeGpus } from '../host/inventory.js';
import { DEFAULT_LOCK_SETTINGS } from '../ledger/lock.js';
import { ledgerPaths } from '../ledger/paths.js';
import { HOST_GROUP, hostPaths, initCommand } from './host-files.js';
import { openPolicySource } from './host-policy.js';

export interface DoctorOptions {
  rpHome: string;
  engine: ContainerEngine;
  /** Where the engine is (DOCKER_HOST), for messages. */
  endpoint: string;
  /** The folder `rp doctor` runs in: a project's logs go under it. */
  cwd: string;
  now: () => Date;
}

export async function runDoctor(options: DoctorOptions): Promise<DoctorCheck[]> {
  const paths = hostPaths(options.rpHome);
  const ledger = ledgerPaths(options.rpHome);
  const checks: DoctorCheck[] = [];

  // Docker: reachable, and which engine.
  const info = await options.engine.engineInfo().catch((error: unknown) => messageOf(error));
  checks.push(
    typeof info === 'string'
      ? judgeDocker({ endpoint: options.endpoint, error: info })
      : judgeDocker({ endpoint: options.endpoint, ...engineFacts(info) }),
  );

  // The host's config: everything below reads it.
  let gpus = 0;
  try {
    const loaded = await openPolicySource(options.rpHome, { warn: () => undefined }).load();
    gpus = loaded.capacity.gpus.length;
    checks.push({
      id: 'config',
      status: loaded.warnings.length > 0 ? 'warn' : 'ok',
      detail: loaded.warnings.length > 0 ? loaded.warnings.join('; ') : `${paths.config} is valid`,
      ...(loaded.warnings.length > 0 ? { hint: `edit ${paths.config}` } : {}),
    });
  } catch (error) {
    checks.push({
      id: 'config',
      status: 'fail',
      detail: messageOf(error),
      hint: hintOf(error) ?? `run "${initCommand(paths.home, true)}"`,
    });
  }

  // A real GPU in a test container, when GPUs exist.
  const probe =
    gpus > 0 && typeof info !== 'string'
      ? await options.engine.probeGpuContainer().catch((error: unknown) => ({
          image: 'unknown',
          exitCode: 125,
          output: messageOf(error),
        }))
      : undefined;
  checks.push(
    judgeGpuContainer({
      gpus,
      ...(probe === undefined ? {} : { probe }),
      ...(typeof info === 'string' || info.runtimes === undefined
        ? {}
        : { runtimes: info.runtimes }),
    }),
  );

  // $RP_HOME ownership and modes.
  const group = await lookupGroup(HOST_GROUP).catch(() => undefined);
  checks.push(
    judgeHome({
      home: await pathFacts(paths.home),
      config: await pathFacts(paths.config),
      queue: await pathFacts(paths.queue),
      shared: await Promise.all(
        [paths.ledger, paths.inventory, paths.history].map((path) => pathFacts(path)),
      ),
      ...(group === undefined ? {} : { group }),
      initCommand: initCommand(paths.home, true),
    }),
  );

  // The ledger, readable and valid, and its lock.
  const read = await readLedger(ledger.ledger);
  checks.push(judgeLedger(ledger.ledger, read));
  checks.push(
    judgeLock(
      ledger.lock,
      await lockAge(ledger.lock, options.now()),
      DEFAULT_LOCK_SETTINGS.staleMs,
    ),
  );

  // Containers against the ledger.
  const jobs = 'parse' in read && read.parse.kind === 'ok' ? read.parse.state.jobs : undefined;
  const containers =
    typeof info === 'string'
      ? undefined
      : await options.engine
          .listQueueContainers(options.rpHome)
          .catch((): QueueContainer[] | undefined => undefined);
  checks.push(judgeContainers('missing' in read ? [] : jobs, containers));

  // Clocks.
  const now = options.now();
  checks.push(
    judgeClock({
      ...(await fileSystemSkew(paths.queue, now)),
      ...(typeof info !== 'string' && info.systemTime !== undefined
        ? { engineSkewMs: now.getTime() - Date.parse(info.systemTime) }
        : {}),
      futureTimes: futureTimes(jobs ?? [], now),
    }),
  );

  // Free disk for images and logs.
  const disks: DiskFacts[] = [];
  const rootDir = typeof info === 'string' ? undefined : info.rootDir;
  for (const [what, path] of [
    ['images', rootDir],
    ['queue', paths.home],
    ['logs', options.cwd],
  ] as const) {
    if (path === undefined) continue;
    const disk = await diskFacts(what, path);
    if (disk !== undefined) disks.push(disk);
  }
  checks.push(judgeDisk(disks));

  // The stored inventory against what is detected now.
  checks.push(await inventoryCheck(paths.inventory, initCommand(paths.home, true)));
  return checks;
}

function engineFacts(info: EngineInfo) {
  return {
    ...(info.version === undefined ? {} : { version: info.version }),
    ...(info.operatingSystem === undefined ? {} : { operatingSystem: info.operatingSystem }),
    id: info.id,
  };
}

async function pathFacts(path: string): Promise<PathFacts> {
  try {
    const info = await stat(path);
    return { path, exists: true, uid: info.uid, gid: info.gid, mode: info.mode & 0o7777 };
  } catch {
    return { path, exists: false };
  }
}

async function readLedger(
  path: string,
): Promise<{ parse: LedgerParse } | { missing: true } | { error: string }> {
  try {
    return { parse: parseLedgerText(await readFile(path, 'utf8')) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { missing: true };
    return { error: messageOf(error) };
  }
}

async function lockAge(path: string, now: Date): Promise<{ ageMs: number } | undefined> {
  try {
    return { ageMs: now.getTime() - (await stat(path)).mtimeMs };
  } catch {
    return undefined;
  }
}

/** How far this machine's clock is from the file system's, by a file written just now. */
async function fileSystemSkew(dir: string, now: Date): Promise<{ fileSystemSkewMs?: number }> {
  const probe = join(dir, `.doctor-${process.pid}`);
  try {
    await writeFile(probe, '');
    const written = (await stat(probe)).mtimeMs;
    return { fileSystemSkewMs: now.getTime() - written };
  } catch {
    // Not writable by this user: nothing to compare (the home check says why).
    return {};
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}

function futureTimes(jobs: readonly JobEntry[], now: Date): number {
  const limit = now.getTime() + 60_000;
  return jobs
    .flatMap((job) => [job.submittedAt, job.grantedAt, job.startedAt])
    .filter((time) => time !== undefined && Date.parse(time) > limit).length;
}

async function diskFacts(what: string, path: string): Promise<DiskFacts | undefined> {
  try {
    const info = await statfs(path);
    const mb = (blocks: number): number => Math.floor((blocks * info.bsize) / (1024 * 1024));
    return { what, path, freeMb: mb(info.bavail), totalMb: mb(info.blocks) };
  } catch {
    return undefined;
  }
}

async function inventoryCheck(file: string, refreshCommand: string): Promise<DoctorCheck> {
  let stored;
  try {
    stored = parseStoredInventory(await readFile(file, 'utf8'), file);
  } catch {
    stored = undefined;
  }
  const detection = await probeGpus();
  const ids = (gpus: ReadonlyArray<{ index: number; uuid?: string }>): string[] =>
    gpus.map((gpu) => gpu.uuid ?? `GPU ${gpu.index}`);
  const detectedGpus =
    detection.kind === 'ok' ? ids(detection.gpus) : detection.kind === 'absent' ? [] : undefined;
  return judgeInventory({
    ...(stored === undefined
      ? {}
      : {
          stored: {
            gpus: ids(stored.gpus ?? []),
            cpuCount: stored.cpuCount,
            memoryTotalMb: stored.memoryTotalMb,
            detectedAt: stored.detectedAt,
          },
        }),
    detected: {
      gpus: detectedGpus,
      cpuCount: detectCpuCount(),
      memoryTotalMb: detectMemoryTotalMb(),
    },
    refreshCommand: refreshCommand.replace(/init$/, 'refresh'),
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function hintOf(error: unknown): string | undefined {
  const hint = (error as { hint?: unknown }).hint;
  return typeof hint === 'string' ? hint : undefined;
}
