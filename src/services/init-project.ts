/**
 * `rp init`: scaffolds docker/, .rp/, .cache/ and output/ in a project folder from the files in
 * templates/, refusing to overwrite an existing project unless forced. The resources it writes
 * fit this host (see src/core/project-defaults.ts).
 */
import createDebug from 'debug';
import { access, appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ConfigError, UsageError } from '../core/errors.js';
import {
  defaultImageRepository,
  isValidProjectName,
  projectNameFromFolder,
} from '../core/naming.js';
import { PROJECT_FILES, projectInfoSchema, type ProjectInfo } from '../core/project-config.js';
import {
  projectResources,
  type InitHost,
  type ResourceDefaults,
} from '../core/project-defaults.js';
import { parseStoredInventory } from '../core/stored-inventory.js';
import type { HostUser } from '../host/identity.js';
import { detectCpuCount, detectGpus, detectMemoryTotalMb } from '../host/inventory.js';
import { rpVersion, templatePath } from '../host/package-info.js';
import { hostPaths, rpHomeFromEnv } from './host-files.js';

const debug = createDebug('rp:init');

export interface InitOptions {
  dir: string;
  user: HostUser;
  /** Another base image for docker/Dockerfile instead of the CUDA default. */
  base?: string;
  cpu?: number;
  gpus?: number;
  memory?: number;
  shm?: string;
  name?: string;
  force: boolean;
  /**
   * What the host has, for the defaults no flag gives; asked only when a resource flag is missing.
   * By default the host's stored inventory, else this machine (nvidia-smi, bounded by its timeout).
   */
  probeHost?: () => Promise<InitHost>;
}

export interface InitResult {
  root: string;
  info: ProjectInfo;
  written: string[];
  kept: string[];
  /** Defaults cut to fit this host, one line each. */
  notes: string[];
}

/** Scaffold files `--force` rewrites; anything else of the user's is only ever created. */
const SCAFFOLD_FILES = [
  PROJECT_FILES.dockerfile,
  PROJECT_FILES.bashhook,
  PROJECT_FILES.hookPreUseradd,
  PROJECT_FILES.hookPostUseradd,
  PROJECT_FILES.info,
];

export async function initProject(options: InitOptions): Promise<InitResult> {
  const root = resolve(options.dir);
  const existing = await existingFiles(root, SCAFFOLD_FILES);
  if (existing.length > 0 && !options.force) {
    throw new ConfigError(`${root} is already an rp project (${existing.join(', ')} exist)`, {
      hint: 'use "rp init --force" to write the scaffold files again (your other files are kept)',
    });
  }
  const resources = await resourceDefaults(options);
  const info = projectInfo(root, options, resources);
  const written: string[] = [];
  const kept: string[] = [];

  for (const dir of [
    PROJECT_FILES.dockerDir,
    '.rp',
    PROJECT_FILES.logs,
    PROJECT_FILES.cache,
    PROJECT_FILES.output,
  ]) {
    await mkdir(join(root, dir), { recursive: true });
  }
  const write = async (file: string, content: string, mode = 0o644): Promise<void> => {
    await writeFile(join(root, file), content, { mode });
    written.push(file);
  };
  await write(PROJECT_FILES.dockerfile, await dockerfileTemplate(options.base));
  await write(PROJECT_FILES.hookPreUseradd, await template('docker/hook_pre_useradd'));
  await write(PROJECT_FILES.hookPostUseradd, await template('docker/hook_post_useradd'));
  await write(PROJECT_FILES.bashhook, await template('docker/bashhook.sh'));
  await write(PROJECT_FILES.info, `${JSON.stringify(info, null, 2)}\n`);
  if ((await existingFiles(root, [PROJECT_FILES.paths])).length > 0) kept.push(PROJECT_FILES.paths);
  else await write(PROJECT_FILES.paths, '[]\n');
  if (await addGitignoreEntries(root)) written.push('.gitignore');
  return { root, info, written, kept, notes: resources.notes };
}

async function resourceDefaults(options: InitOptions): Promise<ResourceDefaults> {
  const flags = { cpu: options.cpu, gpus: options.gpus, memory: options.memory, shm: options.shm };
  const everyFlagGiven =
    options.cpu !== undefined && options.gpus !== undefined && options.memory !== undefined;
  const host = everyFlagGiven ? undefined : await (options.probeHost ?? probeThisHost)();
  return projectResources(flags, host);
}

/**
 * The host's stored inventory when $RP_HOME has one (what the queue schedules with), else this
 * machine: nvidia-smi through detectGpus, which answers "none" when it is missing or stuck.
 */
async function probeThisHost(): Promise<InitHost> {
  const file = hostPaths(rpHomeFromEnv(process.env)).inventory;
  let stored;
  try {
    stored = parseStoredInventory(await readFile(file, 'utf8'), file);
  } catch (error) {
    debug('no stored inventory to size the defaults by (%s)', (error as Error).message);
  }
  const gpus = stored?.gpus ?? (await detectGpus());
  return {
    gpuCount: gpus.length,
    cpuCount: stored?.cpuCount ?? detectCpuCount(),
    memoryTotalMb: stored?.memoryTotalMb ?? detectMemoryTotalMb(),
  };
}

function projectInfo(root: string, options: InitOptions, resources: ResourceDefaults): ProjectInfo {
  const name = options.name ?? projectNameFromFolder(basename(root));
  if (!isValidProjectName(name)) {
    throw new UsageError(`--name "${name}" is not a valid project name`, {
      hint: 'use lowercase letters and digits separated by ".", "_" or "-", e.g. "my-model"',
    });
  }
  const info: ProjectInfo = {
    cpu: resources.cpu,
    gpus: resources.gpus,
    memory: resources.memory,
    docker_shm: resources.docker_shm,
    name,
    tag: defaultImageRepository(options.user.name, name),
    username: options.user.name,
    rp_version: rpVersion(),
    stdout_to_file: false,
  };
  // The flags were checked one by one; this catches any combination the schema rejects.
  const checked = projectInfoSchema.safeParse(info);
  if (!checked.success) {
    throw new UsageError(
      `invalid option: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return checked.data;
}

async function dockerfileTemplate(base: string | undefined): Promise<string> {
  if (base === undefined) return template('docker/Dockerfile');
  if (!/^[^\s]+$/.test(base)) {
    throw new UsageError(`--base "${base}" is not an image reference`, {
      hint: 'e.g. --base ubuntu:24.04',
    });
  }
  return (await template('docker/Dockerfile.custom-base')).replace('{{base}}', base);
}

async function template(relativePath: string): Promise<string> {
  return readFile(templatePath(relativePath), 'utf8');
}

/** Appends the entries of templates/gitignore that .gitignore lacks; true when it changed. */
async function addGitignoreEntries(root: string): Promise<boolean> {
  const file = join(root, '.gitignore');
  const wanted = (await template('gitignore')).split('\n').filter((line) => line.trim() !== '');
  let current = '';
  try {
    current = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const present = new Set(current.split('\n').map((line) => line.trim()));
  const missing = wanted.filter((line) => !present.has(line));
  if (missing.length === 0) return false;
  const separator = current === '' || current.endsWith('\n') ? '' : '\n';
  await appendFile(file, `${separator}${missing.join('\n')}\n`);
  return true;
}

async function existingFiles(root: string, files: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const file of files) {
    try {
      await access(join(root, file));
      found.push(file);
    } catch {
      // absent
    }
  }
  return found;
}
