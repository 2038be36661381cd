import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/host/clock.js';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { openLedger, type LedgerStore } from '../../src/ledger/store.js';
import { makeTempDir } from '../support/tmp.js';

let rpHome: string;
let cleanup: () => Promise<void>;
let store: LedgerStore;
let other: LedgerStore;

beforeEach(async () => {
  ({ dir: rpHome, cleanup } = await makeTempDir('rp-watch-'));
  const options = { rpHome, clock: manualClock(), recover: async () => [] };
  store = await openLedger(options);
  other = await openLedger(options);
  await store.read();
});
afterEach(async () => {
  await cleanup();
});

const bump = (ledger: LedgerStore) =>
  ledger.transact((state) => ({
    state: { ...state, nextSeq: state.nextSeq + 1 },
    result: undefined,
  }));

/** So long that only the directory watch, never the fallback poll, can end a wait in a test. */
const NO_POLL = { pollMs: 600_000 };

describe('waitForChange', () => {
  it('wakes as soon as another writer replaces the ledger (directory watch, not the poll)', async () => {
    const since = await store.changeToken();
    const waiting = store.waitForChange({ since, timeoutMs: 20_000, ...NO_POLL });

    await bump(other);

    expect(await waiting).toBe('changed');
  });

  it('returns at once when the ledger changed after the caller took its token', async () => {
    const since = await store.changeToken();
    await bump(other);

    expect(await store.waitForChange({ since, timeoutMs: 20_000, ...NO_POLL })).toBe('changed');
  });

  it('ignores other files in the host directory', async () => {
    const waiting = store.waitForChange({ timeoutMs: 300, ...NO_POLL });
    await writeFile(join(ledgerPaths(rpHome).dir, 'history.jsonl'), 'x\n');
    await writeFile(join(ledgerPaths(rpHome).dir, 'something-else'), 'x');

    expect(await waiting).toBe('timeout');
  });

  it('ignores a transaction that changed nothing', async () => {
    const waiting = store.waitForChange({ timeoutMs: 300, ...NO_POLL });
    await other.transact((state) => ({ state, result: undefined }));

    expect(await waiting).toBe('timeout');
  });

  it('can be aborted', async () => {
    const controller = new AbortController();
    const waiting = store.waitForChange({ signal: controller.signal, ...NO_POLL });
    controller.abort();

    expect(await waiting).toBe('aborted');
    expect(await store.waitForChange({ signal: controller.signal })).toBe('aborted');
  });

  it('notices a change through the poll alone', async () => {
    const since = await store.changeToken();
    const waiting = store.waitForChange({ since, timeoutMs: 20_000, pollMs: 50, watch: false });
    await bump(other);

    expect(await waiting).toBe('changed');
  });
});
