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
