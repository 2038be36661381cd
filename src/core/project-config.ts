import * as z from './zod.js';
import { DURATION_FORMS, parseTimeLimit } from './durations.js';
import { ConfigError } from './errors.js';
import { isValidProjectName, isValidRepository } from './naming.js';
import { parseConfigFile } from './validation.js';

/** Where a project keeps its rp files, relative to the project root. */
export const PROJECT_FILES = {
  info: '.rp/info.json',
  paths: '.rp/paths.json',
  logs: '.rp/logs',
  dockerDir: 'docker',
  dockerfile: 'docker/Dockerfile',
  bashhook: 'docker/bashhook.sh',
  hookPreUseradd: 'docker/hook_pre_useradd',
  hookPostUseradd: 'docker/hook_post_useradd',
  cache: '.cache',
  output: 'output',
} as const;

/** A Docker size such as 512m or 8g (what `docker run --shm-size` takes). */
const DOCKER_SIZE = /^[0-9]+(?:\.[0-9]+)?[bkmg]?$/i;

/**
 * `.rp/info.json`. The field names are those users of the original rp know; `memory` is in GB.
 */
export const projectInfoSchema = z
  .object({
    cpu: z.number().int().min(1).describe('a whole number of CPU cores, at least 1'),
    gpus: z.number().int().min(0).describe('a whole number of GPUs, 0 or more'),
    memory: z.number().positive().describe('memory in GB, a number above 0 (e.g. 16 or 0.5)'),
    docker_shm: z
      .string()
      .regex(DOCKER_SIZE, 'not a Docker size')
      .describe('shared memory size as Docker writes it, e.g. "2g" or "512m"'),
    name: z
      .string()
      .refine(isValidProjectName, 'not a valid project name')
      .describe('lowercase letters and digits separated by ".", "_" or "-" (at most 64)'),
    tag: z
      .string()
      .refine(isValidRepository, 'not a valid Docker repository name')
      .describe('a Docker repository name without ":tag", e.g. "rp/alice-myproject"'),
    username: z.string().min(1).describe('the user name the project was created by'),
    rp_version: z.string().describe('the rp version that wrote the file'),
    stdout_to_file: z.boolean().describe('true or false: also write job output to .rp/logs/'),
    time: z
      .string()
      .refine((text) => parseTimeLimit(text) !== undefined, 'not a length of time')
      .describe(`the time limit of the project's jobs: ${DURATION_FORMS}`)
      .optional(),
  })
  .strict();

export type ProjectInfo = z.output<typeof projectInfoSchema>;

/** `.rp/paths.json`: absolute host paths mounted into the container next to the project. */
export const projectPathsSchema = z
  .array(
    z
      .string()
      .refine((p) => p.startsWith('/'), 'not an absolute path')
      .describe('absolute host paths, e.g. ["/data/imagenet"]'),
  )
  .describe('a list of absolute host paths, e.g. ["/data/imagenet"]');

const INFO_HINT = `fix the field in ${PROJECT_FILES.info}, or recreate it with "rp init --force"`;
const PATHS_HINT = `${PROJECT_FILES.paths} must be a JSON list of absolute paths, e.g. ["/data/imagenet"]`;

export function parseProjectInfo(text: string, file: string = PROJECT_FILES.info): ProjectInfo {
  return parseConfigFile(text, file, projectInfoSchema, INFO_HINT);
}

/**
 * Parses `.rp/paths.json` and checks what can be checked without the file system and without
 * info.json (see checkMountNames).
 */
export function parseProjectPaths(text: string, file: string = PROJECT_FILES.paths): string[] {
  const paths = parseConfigFile(text, file, projectPathsSchema, PATHS_HINT);
  checkMountNames(paths, { file });
  return paths;
}

/** Docker mounts what a symlink points to: a link of another name is always a way out. */
const SYMLINK_HINT = 'or list a symlink to it with another name (Docker mounts its target)';

/**
 * Refuses paths.json entries that cannot be mounted where the README says: the project is at
 * ~/<project name> and each entry at ~/<basename>, so an entry needs a base name ("/" has none),
 * one no other entry and not the project has (one mount would hide the other), and no ":" (Docker
 * reads a bind as SOURCE:TARGET, and would fail only once the job had waited its turn).
 * `projectName` is left out where info.json is not at hand; the clash with it is then unchecked.
 */
export function checkMountNames(
  paths: readonly string[],
  options: { projectName?: string; file?: string } = {},
): void {
  const file = options.file ?? PROJECT_FILES.paths;
  const seen = new Map<string, string>();
  for (const path of paths) {
    if (path.includes(':')) {
      throw new ConfigError(
        `${file}: "${path}" contains ":", which Docker's SOURCE:TARGET bind syntax cannot carry`,
        { hint: 'rename the folder, or list a symlink to it whose path has no ":"' },
      );
    }
    const base = mountBaseName(path);
    if (!base) {
      throw new ConfigError(`${file}: "${path}" has no folder name to mount it under`, {
        hint: 'list the folder itself, e.g. "/data/imagenet", not "/"',
      });
    }
    if (base === options.projectName) {
      throw new ConfigError(
        `${file}: "${path}" would be mounted as ~/${base}, where the project itself is mounted`,
        {
          hint: `rename the project ("name" in ${PROJECT_FILES.info}), ${SYMLINK_HINT}`,
        },
      );
    }
    const earlier = seen.get(base);
    if (earlier !== undefined) {
      throw new ConfigError(
        `${file}: "${earlier}" and "${path}" would both be mounted as ~/${base}`,
        { hint: `each path must end in a different folder name: rename one, ${SYMLINK_HINT}` },
      );
    }
    seen.set(base, path);
  }
}

/** The folder name a path is mounted under: its last component, trailing slashes ignored. */
export function mountBaseName(path: string): string {
  const parts = path.split('/').filter((part) => part.length > 0 && part !== '.');
  const last = parts[parts.length - 1] ?? '';
  return last === '..' ? '' : last;
}

/** Converts info.json's GB to whole MiB, the unit the scheduler counts in. */
export function gbToMb(gb: number): number {
  return Math.round(gb * 1024);
}
