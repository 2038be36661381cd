/**
 * The build context rp sends to Docker: the project's docker/ folder, filtered by its
 * .dockerignore, plus the files rp generates (Dockerfile, entrypoint, bashhook copy). Packed here
 * with tar-fs, so stream errors are ours to see, and fingerprinted so an unchanged project never
 * builds twice.
 */
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import type { PackOptions } from 'tar-fs';
import {
  hasExceptions,
  isIgnored,
  parseDockerignore,
  type IgnoreRule,
} from '../core/dockerignore.js';
import type { ContextFile } from '../core/image-identity.js';

/** Reads docker/.dockerignore; no file means nothing is ignored. */
export async function readIgnoreRules(contextDir: string): Promise<IgnoreRule[]> {
  try {
    return parseDockerignore(await readFile(join(contextDir, '.dockerignore'), 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Every file of the context that Docker will see, with its mode and a digest of its content. */
export async function fingerprintContext(
  contextDir: string,
  rules: readonly IgnoreRule[],
): Promise<ContextFile[]> {
  const files: ContextFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const name of names) {
      const absolute = join(dir, name);
      const path = toContextPath(contextDir, absolute);
      const stats = await lstat(absolute);
      if (stats.isDirectory()) {
        if (skipDirectory(path, rules)) continue;
        await walk(absolute);
        continue;
      }
      if (isIgnored(path, rules)) continue;
      const digest = stats.isSymbolicLink()
        ? `link:${await readlink(absolute)}`
        : await digestFile(absolute);
      files.push({ path, mode: stats.mode & 0o777, digest });
    }
  };
  await walk(contextDir);
  return files;
}

/**
 * A tar stream of the context with rp's generated files added under their own paths. tar-fs is
 * loaded here, on a build, and not by every command that only checks whether its image exists.
 */
export async function packContext(
  contextDir: string,
  rules: readonly IgnoreRule[],
  generated: ReadonlyArray<{ path: string; content: string; mode: number }>,
): Promise<Readable> {
  const { pack } = await import('tar-fs');
  // `sort` (stable entry order) exists in tar-fs 3 but not in its published types.
  const options: PackOptions & { sort: boolean } = {
    sort: true,
    ignore: (absolute: string) => {
      const path = toContextPath(contextDir, absolute);
      return isIgnoredEntry(absolute, path, rules);
    },
    finalize: false,
    finish: (tar) => {
      for (const file of generated) tar.entry({ name: file.path, mode: file.mode }, file.content);
      tar.finalize();
    },
  };
  return pack(contextDir, options) as unknown as Readable;
}

function isIgnoredEntry(absolute: string, path: string, rules: readonly IgnoreRule[]): boolean {
  if (!isIgnored(path, rules)) return false;
  // tar-fs asks before it knows whether the entry is a folder; a folder that an exception may
  // re-include from must still be walked.
  if (!hasExceptions(rules)) return true;
  try {
    return !isDirectorySync(absolute);
  } catch {
    return true;
  }
}

function skipDirectory(path: string, rules: readonly IgnoreRule[]): boolean {
  return isIgnored(path, rules) && !hasExceptions(rules);
}

function toContextPath(contextDir: string, absolute: string): string {
  return relative(contextDir, absolute).split(sep).join('/');
}

async function digestFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function isDirectorySync(path: string): boolean {
  return statSync(path).isDirectory();
}
