/**
 * Finding and loading an rp project: the folder holding `.rp/info.json`, the current one or the
 * nearest above it (like git), with its validated configuration.
 */
import { access, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import {
  parseProjectInfo,
  parseProjectPaths,
  PROJECT_FILES,
  type ProjectInfo,
} from '../core/project-config.js';

export interface Project {
  root: string;
  info: ProjectInfo;
  paths: string[];
}

export async function findProjectRoot(startDir: string): Promise<string> {
  let dir = resolve(startDir);
  for (;;) {
    if (await exists(join(dir, PROJECT_FILES.info))) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new ConfigError(
        `${resolve(startDir)} is not in an rp project (no ${PROJECT_FILES.info} here or above)`,
        {
          hint: 'run "rp init" in the project folder first',
        },
      );
    }
    dir = parent;
  }
}

export async function loadProject(startDir: string): Promise<Project> {
  const root = await findProjectRoot(startDir);
  const info = parseProjectInfo(
    await readProjectFile(root, PROJECT_FILES.info),
    PROJECT_FILES.info,
  );
  const pathsText = await readProjectFile(root, PROJECT_FILES.paths, '[]');
  const paths = parseProjectPaths(pathsText, PROJECT_FILES.paths);
  return { root, info, paths };
}

/** Reads a file of the project; a missing one is `fallback`, or an error naming it. */
export async function readProjectFile(
  root: string,
  file: string,
  fallback?: string,
): Promise<string> {
  try {
    return await readFile(join(root, file), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && fallback !== undefined) return fallback;
    if (code === 'ENOENT') {
      throw new ConfigError(`${file} is missing in ${root}`, {
        hint: 'restore it, or run "rp init --force" to write the default again',
      });
    }
    throw new ConfigError(`cannot read ${join(root, file)}: ${(error as Error).message}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
