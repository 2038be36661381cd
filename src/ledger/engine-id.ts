/**
 * One engine per ledger. The ledger describes containers on one Docker engine; a process that
 * reaches another one (a different DOCKER_HOST, a rootless engine) sees none of them, and would
 * reap the running jobs as dead and hand their GPUs out again. So the engine's id (`docker info`
 * ID) is recorded next to the ledger by the first rp process that talks to Docker for this queue,
 * written once with an exclusive create, and every later process compares its own engine with it.
 *
 * The file is never rewritten by rp. An admin who really moved the queue to another engine
 * deletes it; the next rp command records the engine it reaches.
 */
import { type FileHandle, link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import createDebug from 'debug';
import * as z from '../core/zod.js';
import { ConfigError } from '../core/errors.js';
import { randomToken } from '../host/ids.js';
import { fsyncDir, tempPrefix } from './atomic-write.js';
import { toConfigError } from './fs-errors.js';

import { ledgerPaths } from './paths.js';

const debug = createDebug('rp:ledger');

export const ENGINE_FILE = 'engine.json';

/** Readable by every rp user; only ever replaced as a whole (deleted and recorded again). */
const ENGINE_FILE_MODE = 0o644;

/** An engine as `docker info` names it. */
export interface EngineRecord {
  /** `docker info` ID. */
  id: string;
  /** `docker info` Name: the engine's host name, for messages. */
  name: string;
}

const engineFileSchema = z.object({
  version: z.literal(1),
  id: z.string().min(1),
  name: z.string(),
  recordedAt: z.string(),
});

/** This process reaches another Docker engine than the one the ledger belongs to. */
export class EngineMismatchError extends ConfigError {}

export function engineFilePath(rpHome: string): string {
  return join(ledgerPaths(rpHome).dir, ENGINE_FILE);
}

function describeEngine(engine: EngineRecord): string {
  return engine.name === '' ? engine.id : `${engine.id} (host ${engine.name})`;
}

/**
 * Pure: the error to refuse the ledger with when `current` is not the engine `recorded` in
 * `file`, or undefined when it is. `dockerHost` is this process's DOCKER_HOST, if set.
 */
export function engineMismatch(
  recorded: EngineRecord,
  current: EngineRecord,
  where: { file: string; dockerHost: string | undefined },
): EngineMismatchError | undefined {
  if (recorded.id === current.id) return undefined;
  const via =
    where.dockerHost === undefined || where.dockerHost === ''
      ? 'the default socket, DOCKER_HOST unset'
      : `DOCKER_HOST=${where.dockerHost}`;
  return new EngineMismatchError(
    `this host's rp queue belongs to the Docker engine ${describeEngine(recorded)}, but this ` +
      `process reaches the engine ${describeEngine(current)} (${via}); rp will not use the ` +
      `queue's ledger with an engine that cannot see its containers`,
    {
      hint:
        `set DOCKER_HOST to the engine the host's queue uses, or ask the admin; ` +
        `if the queue really moved to this engine, the admin deletes ${where.file} ` +
        `and the next rp command records the engine it reaches`,
    },
  );
}

/** The engine recorded in `file`, or undefined when none is. */
export async function readEngineRecord(file: string): Promise<EngineRecord | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw toConfigError(error, file, 'read');
  }
  let parsed: z.infer<typeof engineFileSchema> | undefined;
  try {
    parsed = engineFileSchema.safeParse(JSON.parse(text)).data;
  } catch {
    parsed = undefined;
  }
  if (parsed === undefined) {
    throw new ConfigError(`${file} is not an engine record rp wrote`, {
      hint: `ask the admin to delete it; the next rp command records the Docker engine it reaches`,
    });
  }
  return { id: parsed.id, name: parsed.name };
}

/**
 * The engine the ledger in `rpHome` belongs to: the recorded one, or `current` once this call
 * has recorded it. Of processes racing to record, exactly one wins (a hard link never replaces an
 * existing name), and the others read the winner's record, complete since it was written first.
 */
export async function recordedEngine(
  rpHome: string,
  current: EngineRecord,
  now: Date,
): Promise<EngineRecord> {
  const file = engineFilePath(rpHome);
  // Only the record's own fields: a caller's EngineInfo also carries the engine's `version`.
  const record = { version: 1, id: current.id, name: current.name, recordedAt: now.toISOString() };
  const text = `${JSON.stringify(record)}\n`;
  // Again only if the record is deleted between a lost race and the read of the winner's.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const recorded = await readEngineRecord(file);
    if (recorded !== undefined) return recorded;
    if (await createExclusive(file, text)) {
      debug('recorded engine %s in %s', current.id, file);
      return { id: current.id, name: current.name };
    }
  }
  throw new ConfigError(`${file} keeps appearing and disappearing`, {
    hint: `something other than rp is changing ${dirname(file)}; stop it, then run rp again`,
  });
}

/** Writes `text` to `file` unless it exists; false when another process made it first. */
async function createExclusive(file: string, text: string): Promise<boolean> {
  const temp = join(dirname(file), `${tempPrefix(file)}${process.pid}-${randomToken()}`);
  let handle: FileHandle | undefined;
  try {
    // The queue folder may not exist yet: the engine is checked before the ledger is opened.
    await mkdir(dirname(file), { recursive: true });
    handle = await open(temp, 'wx', ENGINE_FILE_MODE);
    await handle.chmod(ENGINE_FILE_MODE);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
    await handle.close();
    handle = undefined;
    await link(temp, file);
    fsyncDir(dirname(file));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw toConfigError(error, file, 'write');
  } finally {
    await handle?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
  }
}
