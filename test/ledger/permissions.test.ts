import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/core/errors.js';
import { emptyLedger } from '../../src/core/ledger-state.js';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { makeTempDir } from '../support/tmp.js';
import { compileWorker, type CompiledWorker } from './fixtures/compile-worker.js';
import { spawnWorker } from './fixtures/spawn-worker.js';

/**
 * A user who cannot write the host directory gets one ConfigError line naming the path, never a
 * stack trace. Permission bits do not bind root, so as root the worker runs as `nobody`; as any
 * other user the directory is made read-only instead.
 */
const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;

let rpHome: string;
let cleanup: () => Promise<void>;
let compiled: CompiledWorker;

beforeAll(async () => {
  compiled = await compileWorker();
});
afterAll(async () => {
  await compiled.cleanup();
});

let queue: string;

beforeEach(async () => {
  ({ dir: rpHome, cleanup } = await makeTempDir('rp-perm-'));
  queue = ledgerPaths(rpHome).dir;
  await mkdir(queue);
  // Another user may look into the host directory but not write to the queue folder.
  await chmod(rpHome, 0o755);
});
afterEach(async () => {
  await chmod(queue, 0o755);
  await cleanup();
});

describe('a host directory the user cannot write', () => {
  it.each([
    ['the ledger does not exist yet', false],
    ['the ledger exists', true],
  ])('fails with a ConfigError naming the path when %s', async (_case, ledgerExists) => {
    if (ledgerExists) {
      await writeFile(join(queue, 'ledger.json'), JSON.stringify(emptyLedger()), { mode: 0o644 });
    }
    await chmod(queue, 0o555);

    // Reading a missing ledger creates it (under the lock); with a ledger there, submit a job.
    const mode = ledgerExists ? 'submit' : 'open';
    const asUser = isRoot ? { uid: NOBODY, gid: NOBODY } : {};
    const worker = spawnWorker(compiled.script, mode, { rpHome, name: 'perm' }, asUser);
    const error = await worker.waitFor('error', 20_000);
    const { code } = await worker.exit;

    expect(error).toMatchObject({ name: 'ConfigError' });
    expect(error.message).toContain(`${join(queue, 'ledger.json.lock')}: permission denied`);
    expect(error.hint).toContain(queue);
    expect(code).toBe(ExitCode.config);
    expect(worker.stderr()).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
    expect(existsSync(join(queue, 'ledger.json.lock'))).toBe(false);
  });
});
