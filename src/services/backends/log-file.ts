/** A job's log file read from a byte offset, for `rp logs -f` and `rp run` on any backend. */
import { open } from 'node:fs/promises';
import type { LogChunk } from '../backend.js';

/** What `path` holds from `offset` on; nothing (yet) when it does not exist. */
export async function readLogFrom(path: string, offset: number): Promise<LogChunk> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return { data: Buffer.alloc(0), offset };
  }
  try {
    const { size } = await handle.stat();
    if (size <= offset) return { data: Buffer.alloc(0), offset };
    const data = Buffer.alloc(size - offset);
    const { bytesRead } = await handle.read(data, 0, data.length, offset);
    return { data: data.subarray(0, bytesRead), offset: offset + bytesRead };
  } finally {
    await handle.close();
  }
}
