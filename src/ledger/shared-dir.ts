/**
 * Folders inside the queue folder that every rp user of the host writes to (bells, pins, launch
 * files). They get the queue folder's own permissions whatever this process's umask: `rp host
 * init` makes that 2775 for the rp group, and a folder made 755 by whoever came first would lock
 * every other user out.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

const made = new Set<string>();

/**
 * Makes `dir` (and, the same way, any missing folder between it and an existing one) with the
 * permissions of the folder it is in.
 */
export async function makeSharedDir(dir: string): Promise<void> {
  if (made.has(dir)) return;
  const parent = dirname(dir);
  const exists = await stat(parent).then(
    () => true,
    () => false,
  );
  if (!exists && parent !== dir) await makeSharedDir(parent);
  const mode = (await stat(parent)).mode & 0o2777;
  try {
    await mkdir(dir, { mode });
    // mkdir applies the umask; chmod does not.
    await chmod(dir, mode).catch(() => undefined);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  made.add(dir);
}
