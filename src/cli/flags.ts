import { Flags } from '@oclif/core';
import { UsageError } from '../core/errors.js';

/** Memory in GB: a number above 0, fractions allowed (0.5 = 512 MiB). */
export const memoryFlag = Flags.custom<number>({
  helpValue: '<GB>',
  parse: async (input) => {
    const value = Number(input);
    if (!Number.isFinite(value) || value <= 0) {
      throw new UsageError(`must be a number of GB above 0 (e.g. 16 or 0.5), got "${input}"`);
    }
    return value;
  },
});

/** Memory in GB where none is fine: 0 or more, fractions allowed (`rp book --mem`). */
export const optionalMemoryFlag = Flags.custom<number>({
  helpValue: '<GB>',
  parse: async (input) => {
    const value = Number(input);
    if (input.trim() === '' || !Number.isFinite(value) || value < 0) {
      throw new UsageError(`must be a number of GB, 0 or more (e.g. 16 or 0.5), got "${input}"`);
    }
    return value;
  },
});

/** A Docker size such as 2g or 512m. */
export const shmFlag = Flags.custom<string>({
  helpValue: '<SIZE>',
  parse: async (input) => {
    if (!/^[0-9]+(?:\.[0-9]+)?[bkmg]?$/i.test(input)) {
      throw new UsageError(`must be a size such as 2g or 512m, got "${input}"`);
    }
    return input;
  },
});

/** `--time`, checked when the job is prepared (the project's default and the host's caps apply). */
export const timeFlag = Flags.string({
  description:
    "time limit, from when the job starts: 90s, 30m, 2h, 1d, or as in Slurm MM, HH:MM:SS, D-HH:MM:SS; 0 or unlimited for none (default: .rp/info.json time, else the host's default). At the limit the job gets SIGTERM, then SIGKILL; rp exits 124",
  helpValue: '<TIME>',
});

/** `--signal NAME[@SECONDS]`, as Slurm's. */
export const signalFlag = Flags.string({
  description:
    'send this signal SECONDS (default 60) before the time limit, e.g. USR1@300 to checkpoint; the job also sees its deadline as RP_DEADLINE (epoch seconds)',
  helpValue: '<NAME[@SECONDS]>',
});

/** A whole number of at least 1: `--limit 20`. */
export const countFlag = Flags.custom<number>({
  helpValue: '<N>',
  parse: async (input) => {
    if (!/^\s*\d+\s*$/.test(input) || Number(input) < 1) {
      throw new UsageError(`must be a whole number of at least 1 (e.g. 20), got "${input}"`);
    }
    return Number(input);
  },
});
