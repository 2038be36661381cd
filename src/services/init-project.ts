/**
 * `rp init`: scaffolds docker/, .rp/, .cache/ and output/ in a project folder from the files in
 * templates/, refusing to overwrite an existing project unless forced.
 */
import { access, appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ConfigError, UsageError } from '../core/errors.js';
import {
  defaultImageRepository,
  isValidProjectName,
  projectNameFromFolder,
} from '../core/naming.js';
import { PROJECT_FILES, projectInfoSchema, type ProjectInfo } from '../core/project-config.js';
import type { HostUser } from '../host/identity.js';
import { rpVersion, templatePath } from '../host/package-info.js';

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
}

export interface InitResult {
  root: string;
  info: ProjectInfo;
  written: string[];
  kept: string[];
}

export const DEFAULT_RESOURCES = { cpu: 4, gpus: 1, memory: 16, docker_shm: '4g' } as const;

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
  const info = projectInfo(root, options);
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
  return { root, info, written, kept };
}

function projectInfo(root: string, options: InitOptions): ProjectInfo {
  const name = options.name ?? projectNameFromFolder(basename(root));
  if (!isValidProjectName(name)) {
    throw new UsageError(`--name "${name}" is not a valid project name`, {
      hint: 'use lowercase letters and digits separated by ".", "_" or "-", e.g. "my-model"',
    });
  }
  const info: ProjectInfo = {
    cpu: options.cpu ?? DEFAULT_RESOURCES.cpu,
    gpus: options.gpus ?? DEFAULT_RESOURCES.gpus,
    memory: options.memory ?? DEFAULT_RESOURCES.memory,
    docker_shm: options.shm ?? DEFAULT_RESOURCES.docker_shm,
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
