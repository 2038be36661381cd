/**
 * `rp drop NAME FILE`: copies a file into an activity's drop folder under a temporary name
 * (`FILE.part`, which the drain never takes) and renames it once complete, so the drain never
 * sees half a file. Checked first against the activity's rules, so a refusal comes at once.
 */
import { copyFile, constants, lstat, rename, stat, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { acceptsName, isIgnoredName } from '../core/activities.js';
import { UsageError } from '../core/errors.js';
import { readActivity } from './activity-store.js';

export interface DroppedFile {
  activity: string;
  path: string;
}

export async function dropFile(options: {
  rpHome: string;
  activity: string;
  file: string;
}): Promise<DroppedFile> {
  const activity = await readActivity(options.rpHome, options.activity);
  const source = resolve(options.file);
  const stats = await stat(source).catch(() => undefined);
  if (stats === undefined || !stats.isFile()) {
    throw new UsageError(`${options.file} is not a file`, {
      hint: 'give the path of a file to drop',
    });
  }
  const name = basename(source);
  if (isIgnoredName(name)) {
    throw new UsageError(`"${name}" is a name the drop folder ignores (hidden or temporary)`, {
      hint: 'rename the file first',
    });
  }
  if (!acceptsName(activity.accept, name)) {
    throw new UsageError(`"${name}" does not match ${activity.accept?.join(', ')}`, {
      hint: `the activity "${activity.name}" accepts only those names`,
    });
  }
  if (activity.maxSizeBytes !== undefined && stats.size > activity.maxSizeBytes) {
    throw new UsageError(
      `${options.file} is larger than the activity's limit of ${activity.maxSizeBytes} bytes`,
    );
  }
  const target = join(activity.dropDir, name);
  if (
    await lstat(target).then(
      () => true,
      () => false,
    )
  ) {
    throw new UsageError(`a file named "${name}" is already waiting in ${activity.dropDir}`, {
      hint: 'wait until it is taken, or drop the file under another name',
    });
  }
  const part = `${target}.part`;
  try {
    await copyFile(source, part, constants.COPYFILE_EXCL);
    await rename(part, target);
  } catch (error) {
    await unlink(part).catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot drop ${options.file} into ${activity.dropDir}: ${code ?? (error as Error).message}`,
      {
        hint: code === 'EEXIST' ? `remove ${part} (an interrupted drop) and try again` : undefined,
      },
    );
  }
  return { activity: activity.name, path: target };
}
