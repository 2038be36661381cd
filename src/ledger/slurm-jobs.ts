/**
 * The Slurm backend's record of the jobs rp handed to Slurm: one file per job,
 * `<rpHome>/queue/slurm/<id>.json`, keyed by rp's job id, holding the Slurm job id and what
 * `rp ps`, `rp logs` and `rp kill` need without asking the cluster. Slurm forgets ended jobs
 * (squeue after MinJobAge, sacct where there is no accounting), so an ending once seen is written
 * here and survives, for a week after the end (then prune() removes it). Each write is a whole new
 * file renamed into place.
 */
import { mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from '../core/zod.js';
import { recordExpired } from '../core/backend-endings.js';
import { writeFileAtomic } from './atomic-write.js';
import { ledgerPaths } from './paths.js';

const ending = z.object({
  phase: z.string(),
  exitCode: z.number().int().optional(),
  at: z.string(),
});

export const slurmJobRecordSchema = z.object({
  id: z.string(),
  slurmJobId: z.string(),
  user: z.string(),
  uid: z.number().int(),
  project: z.object({ name: z.string(), path: z.string() }),
  command: z.string(),
  request: z.object({ gpus: z.number(), cpus: z.number(), memoryMb: z.number() }),
  timeLimitSeconds: z.number().optional(),
  submittedAt: z.string(),
  /** The job's folder on the shared folder: its script, logs and status files. */
  dir: z.string(),
  /** The log, as every node sees it; an array's holds `{task}`. */
  logFile: z.string(),
  statusFile: z.string(),
  array: z.object({ indices: z.array(z.number()), maxRunning: z.number().optional() }).optional(),
  /** Endings seen, by task ("" for a job that is not an array). */
  ended: z.record(z.string(), ending).default({}),
});

export type SlurmJobRecord = z.infer<typeof slurmJobRecordSchema>;
export type SlurmEnding = z.infer<typeof ending>;

const FILE_MODE = 0o664;

export interface SlurmJobStore {
  dir: string;
  /** Claims a free four-digit id (no file, not in `taken`) and writes `make(id)` under it. */
  create(make: (id: string) => SlurmJobRecord, taken: ReadonlySet<string>): Promise<SlurmJobRecord>;
  get(id: string): Promise<SlurmJobRecord | undefined>;
  list(): Promise<SlurmJobRecord[]>;
  put(record: SlurmJobRecord): Promise<void>;
  remove(id: string): Promise<void>;
  /**
   * Removes the records of jobs that ended more than `keptMs` ago (recordExpired), so the folder
   * does not grow for ever and their ids are free again; returns the records kept, as list().
   * `release` is asked first for each (it removes the job's files): a record it answers false for
   * stays, to be pruned at a later call.
   */
  prune(
    now: Date,
    options?: { keptMs?: number; release?: (record: SlurmJobRecord) => Promise<boolean> },
  ): Promise<SlurmJobRecord[]>;
}

/** The ids of the Slurm jobs this host keeps records of (none when it never used Slurm). */
export async function slurmJobIds(rpHome: string): Promise<Set<string>> {
  const names = await readdir(join(ledgerPaths(rpHome).dir, 'slurm')).catch(
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw error;
    },
  );
  return new Set(
    names.flatMap((name) => {
      const match = /^(\d{4})\.json$/.exec(name);
      return match ? [match[1] as string] : [];
    }),
  );
}

export function openSlurmJobStore(
  rpHome: string,
  randomInt: (max: number) => number,
): SlurmJobStore {
  const dir = join(ledgerPaths(rpHome).dir, 'slurm');
  const file = (id: string): string => join(dir, `${id}.json`);
  const store: SlurmJobStore = {
    dir,
    async create(make, taken) {
      await mkdir(dir, { recursive: true, mode: 0o2775 });
      for (let attempt = 0; attempt < 200; attempt += 1) {
        const id = String(1000 + randomInt(9000));
        if (taken.has(id)) continue;
        try {
          // 'wx': the id is ours only if no other rp process made this file first.
          const handle = await open(file(id), 'wx', FILE_MODE);
          await handle.close();
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
          throw error;
        }
        const record = make(id);
        await store.put(record);
        return record;
      }
      throw new Error(`no free job id in ${dir}`);
    },
    async get(id) {
      let text: string;
      try {
        text = await readFile(file(id), 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
      // An id claimed a moment ago, its record not yet written.
      if (text === '') return undefined;
      return slurmJobRecordSchema.parse(JSON.parse(text));
    },
    async list() {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const ids = names
        .filter((name) => /^\d{4}\.json$/.test(name))
        .map((name) => name.slice(0, 4));
      const records = await Promise.all(ids.map((id) => store.get(id)));
      return records
        .filter((record): record is SlurmJobRecord => record !== undefined)
        .sort((a, b) => a.submittedAt.localeCompare(b.submittedAt));
    },
    async put(record) {
      await writeFileAtomic(file(record.id), `${JSON.stringify(record, null, 2)}\n`, {
        mode: FILE_MODE,
      });
    },
    async remove(id) {
      await unlink(file(id)).catch(() => undefined);
    },
    async prune(now, { keptMs, release } = {}) {
      const records = await store.list();
      const expired = records.filter((record) => recordExpired(record, now, keptMs));
      const removed = new Set<SlurmJobRecord>();
      await Promise.all(
        expired.map(async (record) => {
          if (release !== undefined && !(await release(record))) return;
          // Another rp may prune the same record at the same moment: remove() ignores a missing file.
          await store.remove(record.id);
          removed.add(record);
        }),
      );
      return records.filter((record) => !removed.has(record));
    },
  };
  return store;
}
