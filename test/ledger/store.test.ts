import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import {
  emptyLedger,
  LEDGER_VERSION,
  removeJob,
  type JobEntry,
  type LedgerState,
} from '../../src/core/ledger-state.js';
import { manualClock } from '../../src/host/clock.js';
import { readHistory } from '../../src/ledger/history.js';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { openLedger, type OpenLedgerOptions } from '../../src/ledger/store.js';
import { makeTempDir } from '../support/tmp.js';
import { makeJob } from './fixtures/jobs.js';

let rpHome: string;
/** The queue folder under rpHome, where the ledger lives. */
let queue: string;
let cleanup: () => Promise<void>;
let warnings: string[];

beforeEach(async () => {
  ({ dir: rpHome, cleanup } = await makeTempDir('rp-ledger-'));
  queue = ledgerPaths(rpHome).dir;
  await mkdir(queue);
  warnings = [];
});
afterEach(async () => {
  await cleanup();
});

const clock = manualClock('2025-03-04T05:06:07.890Z');

function open(overrides: Partial<OpenLedgerOptions> = {}) {
  return openLedger({
    rpHome,
    clock,
    recover: async () => [],
    warn: (line) => warnings.push(line),
    ...overrides,
  });
}

function withJob(state: LedgerState, job: JobEntry): LedgerState {
  return { ...state, nextSeq: Math.max(state.nextSeq, job.seq + 1), jobs: [...state.jobs, job] };
}

const ledgerText = () => readFile(join(queue, 'ledger.json'), 'utf8');

/** Everything in the queue folder except the ledger, the history and corrupt copies: temp files, locks. */
async function leftovers(): Promise<string[]> {
  const names = await readdir(queue);
  return names.filter(
    (name) => !['ledger.json', 'history'].includes(name) && !name.includes('.corrupt-'),
  );
}

describe('ledger store', () => {
  it('creates the ledger on first use from recover(), and reads it back', async () => {
    const recover = vi.fn(async () => []);
    const store = await open({ recover });

    expect(await store.read()).toEqual(emptyLedger());
    expect(JSON.parse(await ledgerText())).toEqual(emptyLedger());
    expect(recover).toHaveBeenCalledTimes(1);
    // Later reads find the file and do not ask Docker again.
    await store.read();
    expect(recover).toHaveBeenCalledTimes(1);
    expect(warnings).toEqual([]);
  });

  it('writes a transaction atomically: the new state on disk, no temp file or lock left', async () => {
    const store = await open();
    const job = makeJob({ id: '1234', seq: 1 });

    const result = await store.transact((state) => ({ state: withJob(state, job), result: 'ok' }));

    expect(result).toBe('ok');
    expect(JSON.parse(await ledgerText())).toEqual(withJob(emptyLedger(), job));
    expect(await store.read()).toEqual(withJob(emptyLedger(), job));
    expect(await leftovers()).toEqual([]);
  });

  it('never shows a reader a partial file while many transactions run', async () => {
    const store = await open();
    await store.read();
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        // Straight from disk, as another process would: every read must be a whole ledger.
        JSON.parse(await ledgerText());
        reads += 1;
      }
    })();

    await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        store.transact((state) => ({
          state: withJob(state, makeJob({ id: String(1000 + index), seq: state.nextSeq })),
          result: undefined,
        })),
      ),
    );
    reading = false;
    await reader;

    const final = await store.read();
    expect(final.jobs).toHaveLength(40);
    expect(final.nextSeq).toBe(41);
    expect(reads).toBeGreaterThan(0);
  });

  it('leaves the file unchanged and the lock released when the decision throws', async () => {
    const store = await open();
    await store.transact((state) => ({
      state: withJob(state, makeJob({ id: '1111', seq: 1 })),
      result: undefined,
    }));
    const before = await ledgerText();

    await expect(
      store.transact(() => {
        throw new Error('decision failed');
      }),
    ).rejects.toThrow('decision failed');

    expect(await ledgerText()).toBe(before);
    expect(existsSync(store.paths.lock)).toBe(false);
    // The lock really is free: a second store (as another process would) gets it at once.
    const other = await open({ lock: { timeoutMs: 1_000 } });
    await other.transact((state) => ({ state: { ...state, nextSeq: 5 }, result: undefined }));
    expect((await store.read()).nextSeq).toBe(5);
  });

  it('does not write when the decision returns the same state object', async () => {
    const store = await open();
    await store.read();
    const token = await store.changeToken();

    const result = await store.transact((state) => ({ state, result: 42 }));

    expect(result).toBe(42);
    expect(await store.changeToken()).toBe(token);
  });

  it('refuses to write a state that breaks the schema, and leaves the file unchanged', async () => {
    const store = await open();
    await store.read();
    const before = await ledgerText();
    const job = makeJob({ id: '1234', seq: 1 });

    await expect(
      store.transact((state) => ({
        // Two jobs with one id.
        state: withJob(withJob(state, job), { ...job, seq: 2 }),
        result: undefined,
      })),
    ).rejects.toThrow(/invalid ledger/);
    expect(await ledgerText()).toBe(before);
    expect(await leftovers()).toEqual([]);
  });

  it('refuses a ledger written by a newer rp, and leaves it alone', async () => {
    const future = JSON.stringify({ version: 99, somethingNew: true });
    await writeFile(join(queue, 'ledger.json'), future);
    const store = await open();

    await expect(store.read()).rejects.toThrow(ConfigError);
    await expect(store.read()).rejects.toThrow(/newer rp \(ledger version 99/);
    await expect(store.transact((state) => ({ state, result: undefined }))).rejects.toThrow(
      ConfigError,
    );
    expect(await ledgerText()).toBe(future);
    expect(await leftovers()).toEqual([]);
    expect((await readdir(queue)).some((name) => name.includes('corrupt'))).toBe(false);
  });

  it.each([
    ['garbage', 'this is \u0000 not json at all'],
    ['truncated JSON', JSON.stringify(emptyLedger()).slice(0, 20)],
    ['an empty file', ''],
    ['valid JSON that is not a ledger', JSON.stringify({ version: 1, jobs: 'nope' })],
  ])('moves a corrupt ledger (%s) aside and rebuilds it from recover()', async (_what, text) => {
    // Given a corrupt ledger, and Docker knowing of one running job
    await writeFile(join(queue, 'ledger.json'), text);
    const running = makeJob({
      id: '4242',
      seq: 17,
      state: 'running',
      container: { id: 'c0ffee', name: 'rp-4242' },
    });
    const recover = vi.fn(async () => [running]);
    const store = await open({ recover });

    // When the ledger is next used
    const state = await store.read();

    // Then the old file is kept aside, byte for byte, and the ledger holds what Docker knows
    const aside = join(queue, 'ledger.json.corrupt-2025-03-04T05-06-07.890Z');
    expect(await readFile(aside, 'utf8')).toBe(text);
    expect(state).toEqual({ version: LEDGER_VERSION, nextSeq: 18, jobs: [running] });
    expect(JSON.parse(await ledgerText())).toEqual(state);
    expect(recover).toHaveBeenCalledTimes(1);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(aside);
    expect(await leftovers()).toEqual([]);
  });

  it('keeps the queued jobs and bookings a corrupt ledger still holds, Docker winning for running jobs', async () => {
    // Given a ledger that is JSON but invalid (one entry is broken), holding a running job, a
    // queued job (no container: Docker cannot recover it), a booking and a broken entry
    const booking = {
      id: 'b0042',
      user: 'alice',
      uid: 1000,
      start: '2025-03-05T09:00:00.000Z',
      end: '2025-03-05T17:00:00.000Z',
      request: { gpus: 1, cpus: 4, memoryMb: 8192 },
      createdAt: '2025-03-01T00:00:00.000Z',
    };
    const queued = makeJob({ id: '1001', seq: 5 });
    const stale = makeJob({ id: '4242', seq: 4, state: 'granted' });
    await writeFile(
      join(queue, 'ledger.json'),
      JSON.stringify({
        version: LEDGER_VERSION,
        nextSeq: 30,
        jobs: [stale, queued, { id: 'broken' }],
        bookings: [booking],
      }),
    );
    const running = makeJob({
      id: '4242',
      seq: 4,
      state: 'running',
      container: { id: 'c0ffee', name: 'rp-4242' },
    });
    const store = await open({ recover: async () => [running] });

    // When the ledger is next read
    const state = await store.read();

    // Then the running job is Docker's, the queued job and the booking are kept, and no seq is
    // handed out twice
    expect(state).toEqual({
      version: LEDGER_VERSION,
      nextSeq: 30,
      jobs: [running, queued],
      bookings: [booking],
    });
    expect(warnings.join('\n')).toMatch(
      /job broken \(from the unreadable ledger\): not a valid entry/,
    );
    expect(warnings.join('\n')).toMatch(/keeping 1 job\(s\) and 1 booking\(s\) it still held/);
  });

  it('rebuilds inside a transaction too, then applies the decision to the rebuilt state', async () => {
    await writeFile(join(queue, 'ledger.json'), '{"garbage":');
    const store = await open({ recover: async () => [makeJob({ id: '5555', seq: 3 })] });

    const seen = await store.transact((state) => ({
      state: { ...state, nextSeq: state.nextSeq + 1 },
      result: state.jobs.map((job) => job.id),
    }));

    expect(seen).toEqual(['5555']);
    expect((await store.read()).nextSeq).toBe(5);
  });

  it('never overwrites an earlier corrupt copy', async () => {
    const store = await open();
    await writeFile(join(queue, 'ledger.json'), 'first garbage');
    await store.read();
    await writeFile(join(queue, 'ledger.json'), 'second garbage');
    await store.read(); // the same (fixed) clock time

    const base = join(queue, 'ledger.json.corrupt-2025-03-04T05-06-07.890Z');
    expect(await readFile(base, 'utf8')).toBe('first garbage');
    expect(await readFile(`${base}-1`, 'utf8')).toBe('second garbage');
  });

  it('does not rebuild again when another process repaired the ledger meanwhile', async () => {
    await writeFile(join(queue, 'ledger.json'), 'garbage');
    const repaired = withJob(emptyLedger(), makeJob({ id: '7777', seq: 1 }));
    const store = await open({
      // While this process asks Docker (without the lock), another one rebuilds the ledger.
      recover: async () => {
        await writeFile(join(queue, 'ledger.json'), JSON.stringify(repaired));
        return [makeJob({ id: '8888', seq: 1 })];
      },
    });

    expect(await store.read()).toEqual(repaired);
    expect((await readdir(queue)).some((name) => name.includes('corrupt'))).toBe(false);
  });

  it('appends a history line in the transaction that removes a finished job', async () => {
    const store = await open();
    const job = makeJob({
      id: '2468',
      seq: 1,
      state: 'running',
      startedAt: '2025-03-04T05:00:00Z',
    });
    await store.transact((state) => ({ state: withJob(state, job), result: undefined }));

    const record = await store.transact((state) => {
      const removed = removeJob(state, job, {
        ending: 'exited',
        endedAt: clock.now().toISOString(),
        exitCode: 3,
      });
      return { state: removed.state, result: removed.record, history: [removed.record!] };
    });

    expect((await store.read()).jobs).toEqual([]);
    const history = await readHistory(store.paths.history);
    expect(history.skippedLines).toBe(0);
    expect(history.records).toEqual([record]);
    expect(history.records[0]).toMatchObject({
      id: '2468',
      user: 'alice',
      project: { path: '/home/alice/proj', name: 'proj' },
      request: { gpus: 1, cpus: 4, memoryMb: 8192 },
      startedAt: '2025-03-04T05:00:00Z',
      endedAt: '2025-03-04T05:06:07.890Z',
      exitCode: 3,
      ending: 'exited',
    });
  });

  it('keeps earlier history lines readable after a writer crashed mid-line', async () => {
    const store = await open();
    // No newline: a torn append, in the month the unreadable end time below is filed under.
    await mkdir(store.paths.history.dir, { recursive: true });
    const month = clock.now().toISOString().slice(0, 7);
    await writeFile(join(store.paths.history.dir, `${month}.jsonl`), '{"id":"1234","user":"bo');
    const job = makeJob({ id: '1357', seq: 1 });
    await store.transact((state) => ({ state: withJob(state, job), result: undefined }));

    await store.transact((state) => {
      const removed = removeJob(state, job, { ending: 'cancelled', endedAt: 'x' });
      return { state: removed.state, result: undefined, history: [removed.record!] };
    });

    const history = await readHistory(store.paths.history);
    expect(history.records.map((record) => record.id)).toEqual(['1357']);
    expect(history.skippedLines).toBe(1);
  });

  it('turns file-system errors into a ConfigError naming the path, and leaves no lock', async () => {
    // ledger.json is a directory: reading it fails with EISDIR.
    await mkdir(join(queue, 'ledger.json'));
    const store = await open();

    const failure = store.transact((state) => ({ state, result: undefined }));
    await expect(failure).rejects.toThrow(ConfigError);
    await expect(failure).rejects.toThrow(join(queue, 'ledger.json'));
    expect(existsSync(store.paths.lock)).toBe(false);
  });

  it('reports a host directory that cannot be created as a ConfigError', async () => {
    await writeFile(join(rpHome, 'not-a-dir'), '');
    const failure = open({ rpHome: join(rpHome, 'not-a-dir', 'rp') });
    await expect(failure).rejects.toThrow(ConfigError);
    await expect(failure).rejects.toThrow(/cannot create the host directory .*not-a-dir/);
  });
});
