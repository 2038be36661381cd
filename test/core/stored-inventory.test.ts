import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import {
  formatStoredInventory,
  mergeDetection,
  parseStoredInventory,
  type Detection,
  type StoredInventory,
} from '../../src/core/stored-inventory.js';

const AT = new Date('2026-12-02T10:00:00.000Z');
const GPUS = [
  { index: 0, uuid: 'GPU-a', name: 'H100', memoryMb: 81559 },
  { index: 1, uuid: 'GPU-b', name: 'H100', memoryMb: 81559 },
];
const STORED: StoredInventory = {
  version: 1,
  detectedAt: '2026-12-01T00:00:00.000Z',
  cpuCount: 32,
  memoryTotalMb: 256_000,
  gpus: GPUS,
  configStamp: 'old',
};

function detection(gpus: Detection['gpus']): Detection {
  return { cpuCount: 32, memoryTotalMb: 256_000, gpus };
}

describe('mergeDetection', () => {
  it('never shrinks the GPUs on a detection that failed or timed out', () => {
    const failed = detection({ kind: 'failed', reason: 'nvidia-smi did not answer within 5 s' });
    const merged = mergeDetection(STORED, failed, AT, 'new');
    expect(merged.inventory).toEqual({
      ...STORED,
      detectedAt: AT.toISOString(),
      configStamp: 'new',
    });
    expect(merged.notes).toEqual([
      'GPU detection failed (nvidia-smi did not answer within 5 s); kept the 2 GPU(s) found before',
    ]);
  });

  it('keeps the GPUs when they were not asked about', () => {
    const merged = mergeDetection(STORED, detection({ kind: 'skipped' }), AT, 'new');
    expect(merged.inventory.gpus).toEqual(GPUS);
    expect(merged.notes).toEqual([]);
  });

  it('follows an answer, fewer GPUs included, and says so', () => {
    const merged = mergeDetection(STORED, detection({ kind: 'ok', gpus: [GPUS[0]!] }), AT, 'new');
    expect(merged.inventory.gpus).toEqual([GPUS[0]]);
    expect(merged.notes).toEqual(['GPUs changed: 2 before, 1 now']);
  });

  it('keeps GPUs seen before when nvidia-smi went missing, unless an admin refreshes', () => {
    const absent = detection({ kind: 'absent' });
    expect(mergeDetection(STORED, absent, AT, 'new').inventory.gpus).toEqual(GPUS);
    expect(mergeDetection(STORED, absent, AT, 'new', true).inventory.gpus).toEqual([]);
    expect(mergeDetection(undefined, absent, AT, 'new').inventory.gpus).toEqual([]);
  });

  it('knows no GPUs when the very first detection fails', () => {
    const failed = detection({ kind: 'failed', reason: 'exit 9' });
    const merged = mergeDetection(undefined, failed, AT, undefined);
    expect(merged.inventory).toEqual({
      version: 1,
      detectedAt: AT.toISOString(),
      cpuCount: 32,
      memoryTotalMb: 256_000,
    });
    expect(merged.notes[0]).toContain('no GPUs are known yet');
  });
});

describe('parseStoredInventory', () => {
  it('reads back what it wrote', () => {
    expect(parseStoredInventory(formatStoredInventory(STORED), '/x/inventory.json')).toEqual(
      STORED,
    );
  });

  it('names the file and the field of a bad file, and how to make it anew', () => {
    const bad = JSON.stringify({ ...STORED, cpuCount: 'many' });
    const error = (() => {
      try {
        parseStoredInventory(bad, '/x/inventory.json');
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('/x/inventory.json');
    expect((error as ConfigError).message).toContain('cpuCount');
    expect((error as ConfigError).hint).toContain('rp host refresh');
  });
});
