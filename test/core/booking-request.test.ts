import { describe, expect, it } from 'vitest';
import { bookAction, parseGpuIds, readBookingFlags } from '../../src/core/booking-request.js';
import { UsageError } from '../../src/core/errors.js';

// Local parts, so the tests hold in any time zone.
const NOW = new Date(2026, 11, 2, 12, 0, 20);
const ALICE = { user: 'alice', uid: 1000 };

function refusal(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal');
}

describe('reading rp book flags into a booking', () => {
  it('starts "now" at the next whole minute and ends a rounded-up duration later', () => {
    const booking = readBookingFlags({ cpu: 1, start: 'now', duration: '59m30s' }, ALICE, NOW);
    expect(booking).toEqual({
      user: 'alice',
      uid: 1000,
      start: new Date(2026, 11, 2, 12, 1),
      end: new Date(2026, 11, 2, 13, 1),
      request: { gpus: 0, cpus: 1, memoryMb: 0 },
    });
  });

  it('reads relative starts, local date-times and Slurm durations', () => {
    const in2h = readBookingFlags({ gpu: 2, start: '+2h', duration: '1:30:00' }, ALICE, NOW);
    expect(in2h.start).toEqual(new Date(2026, 11, 2, 14, 1));
    expect(in2h.end).toEqual(new Date(2026, 11, 2, 15, 31));
    const local = readBookingFlags(
      { mem: 0.5, start: '2026-12-03 09:00', duration: '2h' },
      ALICE,
      NOW,
    );
    expect(local.start).toEqual(new Date(2026, 11, 3, 9, 0));
    expect(local.request).toEqual({ gpus: 0, cpus: 0, memoryMb: 512 });
  });

  it('takes the number of GPUs from --gpu-ids, and refuses a --gpu that disagrees', () => {
    const booking = readBookingFlags({ gpuIds: '3,0', start: 'now', duration: '1h' }, ALICE, NOW);
    expect(booking.gpuIds).toEqual([0, 3]);
    expect(booking.request.gpus).toBe(2);
    const error = refusal(() =>
      readBookingFlags({ gpu: 1, gpuIds: '0,3', start: 'now', duration: '1h' }, ALICE, NOW),
    );
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe('--gpu 1 but --gpu-ids 0,3 names 2 GPUs');
  });

  it('names the flag and the forms it takes when a value is not one', () => {
    const start = refusal(() =>
      readBookingFlags({ start: 'tomorrow', duration: '1h' }, ALICE, NOW),
    );
    expect(start.message).toBe('--start: "tomorrow" is not a time');
    expect((start as UsageError).hint).toContain('"YYYY-MM-DD HH:MM"');
    const duration = refusal(() =>
      readBookingFlags({ start: 'now', duration: 'soon' }, ALICE, NOW),
    );
    expect(duration.message).toBe('--duration: "soon" is not a length of time above 0');
    expect((duration as UsageError).hint).toContain('1h30m');
    expect((duration as UsageError).hint).not.toContain('unlimited');
    expect(
      refusal(() => readBookingFlags({ start: 'now', duration: '0' }, ALICE, NOW)).message,
    ).toBe('--duration: "0" is not a length of time above 0');
    expect(refusal(() => readBookingFlags({ duration: '1h' }, ALICE, NOW)).message).toMatch(
      /^--start is required/,
    );
    expect(refusal(() => readBookingFlags({ start: 'now' }, ALICE, NOW)).message).toMatch(
      /^--duration is required/,
    );
  });
});

describe('GPU id lists', () => {
  it('reads lists and ranges, sorted', () => {
    expect(parseGpuIds('0,3')).toEqual([0, 3]);
    expect(parseGpuIds('5, 0-2')).toEqual([0, 1, 2, 5]);
  });

  it.each([
    ['a,b', 'is not a list of GPU indices'],
    ['0,,1', 'is not a list of GPU indices'],
    ['3-1', 'has a range that runs backwards (3-1)'],
    ['0,0', 'names a GPU twice'],
    ['0-99999', "has a range longer than any host's GPUs (0-99999)"],
  ])('refuses %s', (text, why) => {
    expect(refusal(() => parseGpuIds(text)).message).toBe(`--gpu-ids: "${text}" ${why}`);
  });
});

describe('what rp book is asked to do', () => {
  it('books by default, cancels or imports when told', () => {
    expect(bookAction({ cpu: 1, start: 'now', duration: '1h' })).toEqual({ kind: 'book' });
    expect(bookAction({ cancel: ' b1234 ' })).toEqual({ kind: 'cancel', id: 'b1234' });
    expect(bookAction({ import: 'b.csv' })).toEqual({ kind: 'import', file: 'b.csv' });
  });

  it('refuses --cancel or --import with the flags that make a booking, naming them', () => {
    expect(refusal(() => bookAction({ cancel: 'b1234', gpu: 1, start: 'now' })).message).toBe(
      '--cancel cannot be combined with --gpu, --start',
    );
    expect(refusal(() => bookAction({ import: 'b.csv', gpuIds: '0' })).message).toBe(
      '--import cannot be combined with --gpu-ids',
    );
    expect(refusal(() => bookAction({ import: 'b.csv', cancel: 'b1' })).message).toBe(
      '--cancel and --import cannot be combined',
    );
  });
});
