/**
 * Boolean flags written with a value, as the original rp took them (`rp run --detach=True`, as
 * its README shows). oclif's boolean flags take no value: `--detach=True` would leave "True" as
 * an unexpected argument. These flags are taken out of argv before oclif parses the rest.
 */
import { UsageError } from './errors.js';

/** The values accepted after `=`: Python's spellings, lowercase, and 1/0 (in this order). */
export const BOOLEAN_VALUES: ReadonlyArray<readonly [string, boolean]> = [
  ['True', true],
  ['true', true],
  ['1', true],
  ['False', false],
  ['false', false],
  ['0', false],
];

/** What `--flag=VALUE` means, or undefined when VALUE is none of BOOLEAN_VALUES. */
export function parseBooleanValue(value: string): boolean | undefined {
  return BOOLEAN_VALUES.find(([text]) => text === value)?.[1];
}

/**
 * Takes every `--<name>=VALUE` out of `argv` (up to a `--`, after which nothing is a flag) and
 * returns the rest with the last value given; `value` is undefined when there was none, so a
 * plain `--<name>` is left to oclif. A VALUE outside BOOLEAN_VALUES is a usage error naming the
 * flag and the values allowed.
 */
export function takeBooleanFlagValue(
  argv: readonly string[],
  name: string,
): { argv: string[]; value: boolean | undefined } {
  const prefix = `--${name}=`;
  const rest: string[] = [];
  let value: boolean | undefined;
  let flagsEnded = false;
  for (const arg of argv) {
    if (arg === '--') flagsEnded = true;
    if (flagsEnded || !arg.startsWith(prefix)) {
      rest.push(arg);
      continue;
    }
    const text = arg.slice(prefix.length);
    const parsed = parseBooleanValue(text);
    if (parsed === undefined) {
      throw new UsageError(
        `--${name}=${text}: --${name} takes ${BOOLEAN_VALUES.map(([word]) => word).join(', ')}, or no value`,
        { hint: `e.g. --${name}=True, or --${name} alone` },
      );
    }
    value = parsed;
  }
  return { argv: rest, value };
}
