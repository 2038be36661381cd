import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/core/errors.js';
import { parseBooleanValue, takeBooleanFlagValue } from '../../src/core/flag-values.js';

describe('takeBooleanFlagValue', () => {
  it.each([
    ['True', true],
    ['true', true],
    ['1', true],
    ['False', false],
    ['false', false],
    ['0', false],
  ])('takes --detach=%s out of argv as %s, as the original rp wrote it', (text, value) => {
    expect(takeBooleanFlagValue(['--script=train.sh', `--detach=${text}`], 'detach')).toEqual({
      argv: ['--script=train.sh'],
      value,
    });
  });

  it('leaves a plain --detach and -d to oclif', () => {
    expect(takeBooleanFlagValue(['--detach', '-d', '--script=x'], 'detach')).toEqual({
      argv: ['--detach', '-d', '--script=x'],
      value: undefined,
    });
  });

  it('takes the last value given, and nothing after --', () => {
    expect(
      takeBooleanFlagValue(['--detach=True', '--detach=0', '--', '--detach=1'], 'detach'),
    ).toEqual({ argv: ['--', '--detach=1'], value: false });
  });

  it('refuses another value with a usage error naming the flag and the values allowed', () => {
    let error: unknown;
    try {
      takeBooleanFlagValue(['--detach=maybe'], 'detach');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as UsageError).message).toBe(
      '--detach=maybe: --detach takes True, true, 1, False, false, 0, or no value',
    );
  });

  it('knows only its own words', () => {
    expect(parseBooleanValue('yes')).toBeUndefined();
    expect(parseBooleanValue('toString')).toBeUndefined();
    expect(parseBooleanValue('')).toBeUndefined();
  });
});
