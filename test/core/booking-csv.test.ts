import { describe, expect, it } from 'vitest';
import { parseBookingCsv } from '../../src/core/booking-csv.js';
import { UsageError } from '../../src/core/errors.js';

const NOW = new Date(2026, 11, 2, 12, 0, 0);
const HEADER = 'start,end,user_id,cpus,memory,gpus';

function refusal(text: string): UsageError {
  try {
    parseBookingCsv(text, 'b.csv', NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return error as UsageError;
  }
  throw new Error('expected a refusal');
}

describe('reading a bookings CSV', () => {
  it('reads each row in local time, memory in GB, and ignores columns after gpus', () => {
    const text = [
      `${HEADER},room,note`,
      '2026-12-03 09:00,2026-12-03 11:30,alice,4,16,2,A1,"first, long"',
      '',
      '2026-12-04 00:00,2026-12-04 01:00,bob,1,0.5,0',
      '',
    ].join('\n');
    expect(parseBookingCsv(text, 'b.csv', NOW)).toEqual([
      {
        row: 2,
        user: 'alice',
        start: new Date(2026, 11, 3, 9, 0),
        end: new Date(2026, 11, 3, 11, 30),
        request: { gpus: 2, cpus: 4, memoryMb: 16 * 1024 },
      },
      {
        row: 4,
        user: 'bob',
        start: new Date(2026, 11, 4, 0, 0),
        end: new Date(2026, 11, 4, 1, 0),
        request: { gpus: 0, cpus: 1, memoryMb: 512 },
      },
    ]);
  });

  it('reads the GPUs booked by index from a gpu_ids column, as rp bookings --export csv writes', () => {
    const text = [
      `${HEADER},gpu_ids`,
      '2026-12-03 09:00,2026-12-03 10:00,alice,0,0,2,"0,3"',
      '2026-12-03 09:00,2026-12-03 10:00,bob,0,0,1,',
      '',
    ].join('\n');
    const rows = parseBookingCsv(text, 'b.csv', NOW);
    expect(rows.map((row) => row.gpuIds)).toEqual([[0, 3], undefined]);
    expect(
      refusal(`${HEADER},gpu_ids\n2026-12-03 09:00,2026-12-03 10:00,alice,0,0,1,"0,3"\n`).message,
    ).toBe('b.csv row 2: gpus is 1 but gpu_ids "0,3" names 2');
    expect(
      refusal(`${HEADER},gpu_ids\n2026-12-03 09:00,2026-12-03 10:00,alice,0,0,1,x\n`).message,
    ).toBe('b.csv row 2: gpu_ids: "x" is not a list of GPU indices');
  });

  it('reads a file saved with a byte-order mark and CRLF line ends, as spreadsheets write', () => {
    const text = `\uFEFF${HEADER}\r\n2026-12-03 09:00,2026-12-03 10:00,alice,1,0,0\r\n`;
    expect(parseBookingCsv(text, 'b.csv', NOW)).toHaveLength(1);
  });

  it('names the row and the field of a value that is wrong', () => {
    const row = (fields: string) =>
      `${HEADER}\n2026-12-03 09:00,2026-12-03 10:00,alice,1,0,0\n${fields}\n`;
    expect(refusal(row('2026-12-03 09:00,2026-12-03 08:00,alice,1,0,0')).message).toBe(
      'b.csv row 3: end 2026-12-03 08:00 is before start 2026-12-03 09:00',
    );
    expect(refusal(row('2026-12-03 09:00,2026-12-03 09:00,alice,1,0,0')).message).toBe(
      'b.csv row 3: end 2026-12-03 09:00 is the same as start 2026-12-03 09:00',
    );
    expect(refusal(row('soon,2026-12-03 10:00,alice,1,0,0')).message).toBe(
      'b.csv row 3: start "soon" is not a time',
    );
    expect(refusal(row('2026-12-03 09:00,2026-12-03T10:00:30,alice,1,0,0')).message).toBe(
      'b.csv row 3: end 2026-12-03T10:00:30 is not on a whole minute',
    );
    expect(refusal(row('2026-12-03 09:00,2026-12-03 10:00,alice,1.5,0,0')).message).toBe(
      'b.csv row 3: cpus "1.5" is not a whole number (0 or more)',
    );
    expect(refusal(row('2026-12-03 09:00,2026-12-03 10:00,alice,1,-2,0')).message).toBe(
      'b.csv row 3: memory "-2" is not a number of GB (0 or more, e.g. 16 or 0.5)',
    );
    expect(refusal(row('2026-12-03 09:00,2026-12-03 10:00,alice,1,0,two')).message).toBe(
      'b.csv row 3: gpus "two" is not a whole number (0 or more)',
    );
    expect(refusal(row('2026-12-03 09:00,2026-12-03 10:00,,1,0,0')).message).toBe(
      'b.csv row 3: user_id is empty',
    );
    expect(refusal(row('2026-12-03 09:00,2026-12-03 10:00,alice')).message).toBe(
      'b.csv row 3: has 3 fields, not the 6 of start,end,user_id,cpus,memory,gpus',
    );
  });

  it('refuses a file without the header, with only the header, or that is not CSV', () => {
    expect(refusal('2026-12-03 09:00,2026-12-03 10:00,alice,1,0,0\n').message).toBe(
      'b.csv does not start with the header start,end,user_id,cpus,memory,gpus',
    );
    expect(refusal('').message).toBe(
      'b.csv does not start with the header start,end,user_id,cpus,memory,gpus',
    );
    expect(refusal(`${HEADER}\n`).message).toBe('b.csv holds no bookings, only the header');
    expect(refusal(`${HEADER}\n"2026-12-03 09:00,x\n`).message).toMatch(/^b\.csv is not CSV: /);
  });
});
