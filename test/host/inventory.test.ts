import { chmod, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  detectCpuCount,
  detectGpus,
  detectInventory,
  detectMemoryTotalMb,
  parseGroupLine,
  parseNvidiaSmiCsv,
} from '../../src/host/inventory.js';
import { makeTempDir } from '../support/tmp.js';

let dir: string;
let cleanup: () => Promise<void>;
const originalPath = process.env.PATH ?? '';

beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir('rp-inventory-'));
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await cleanup();
});

/** Puts an executable `nvidia-smi` with `body` first on PATH. */
async function fakeNvidiaSmi(body: string): Promise<void> {
  const file = join(dir, 'nvidia-smi');
  await writeFile(file, `#!/bin/sh\n${body}\n`);
  await chmod(file, 0o755);
  vi.stubEnv('PATH', `${dir}${delimiter}${originalPath}`);
}

describe('detectGpus', () => {
  it('finds no GPUs when nvidia-smi is not on PATH', async () => {
    vi.stubEnv('PATH', dir); // an empty directory
    expect(await detectGpus({ timeoutMs: 2_000 })).toEqual([]);
  });

  it('parses the GPUs a (fake) nvidia-smi lists, and asks it for CSV', async () => {
    await fakeNvidiaSmi(`
[ "$*" = "--query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits" ] || exit 64
echo "1, GPU-bbbb-2222, NVIDIA H100 80GB HBM3, 81559"
echo "0, GPU-aaaa-1111, NVIDIA H100 80GB HBM3, 81559"`);
    expect(await detectGpus({ timeoutMs: 5_000 })).toEqual([
      { index: 0, uuid: 'GPU-aaaa-1111', name: 'NVIDIA H100 80GB HBM3', memoryMb: 81559 },
      { index: 1, uuid: 'GPU-bbbb-2222', name: 'NVIDIA H100 80GB HBM3', memoryMb: 81559 },
    ]);
  });

  it('finds no GPUs when nvidia-smi fails (driver not loaded)', async () => {
    await fakeNvidiaSmi(`
echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." >&2
echo "0, GPU-stale, Old GPU, 1024"
exit 9`);
    expect(await detectGpus({ timeoutMs: 5_000 })).toEqual([]);
  });

  it('gives up on an nvidia-smi that never answers and finds no GPUs', async () => {
    // exec: the sleep is nvidia-smi itself, so the timeout's kill reaches it.
    await fakeNvidiaSmi('exec sleep 600');
    expect(await detectGpus({ timeoutMs: 200 })).toEqual([]);
  });

  it('returns even when the program it ran never finishes (a process stuck in the driver)', async () => {
    const never = () => new Promise<never>(() => undefined);
    expect(await detectGpus({ timeoutMs: 50, run: never })).toEqual([]);
  });
});

describe('parseNvidiaSmiCsv', () => {
  it('skips lines that are not GPUs and keeps what it can of odd ones', () => {
    const text = [
      '',
      'No devices were found',
      '2, GPU-cccc, Tesla V100-SXM2-32GB, [N/A]',
      '3, [N/A], Some, GPU, With, Commas, 4096',
      'x, GPU-dddd, Bad Index, 1',
    ].join('\n');
    expect(parseNvidiaSmiCsv(text)).toEqual([
      { index: 2, uuid: 'GPU-cccc', name: 'Tesla V100-SXM2-32GB' },
      { index: 3, name: 'Some, GPU, With, Commas', memoryMb: 4096 },
    ]);
  });
});

describe('machine', () => {
  it('counts cores and memory', () => {
    expect(detectCpuCount()).toBeGreaterThan(0);
    expect(Number.isInteger(detectMemoryTotalMb())).toBe(true);
    expect(detectMemoryTotalMb()).toBeGreaterThan(0);
  });

  it('probes GPUs only when asked', async () => {
    await fakeNvidiaSmi('echo "0, GPU-aaaa, Fake, 1024"');
    expect((await detectInventory({ gpus: false })).gpus).toBeUndefined();
    expect((await detectInventory({ gpus: true })).gpus).toEqual([
      { index: 0, uuid: 'GPU-aaaa', name: 'Fake', memoryMb: 1024 },
    ]);
  });

  it('reads group lines', () => {
    expect(parseGroupLine('docker:x:105:alice,bob', 'docker')).toEqual({
      name: 'docker',
      gid: 105,
    });
    expect(parseGroupLine('dockerroot:x:106:', 'docker')).toBeUndefined();
  });
});
