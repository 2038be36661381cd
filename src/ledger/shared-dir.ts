/**
 * Folders inside the queue folder that every rp user of the host writes to (bells, pins, launch
 * files). They get the queue folder's own permissions whatever this process's umask: `rp host
 * init` makes that 2775 for the rp group, and a folder made 755 by whoever came first would lock
 * every other user out.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

const made = new Set<string>();

export async function makeSharedDir(dir: string): Promise<void> {
  if (made.has(dir)) return;
  const mode = (await stat(dirname(dir))).mode & 0o2777;
  try {
    await mkdir(dir, { mode });
    // mkdir applies the umask; chmod does not.
    await chmod(dir, mode).catch(() => undefined);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  made.add(dir);
}
