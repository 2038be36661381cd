/**
 * Randomness is passed in (house style, habit 5): pure code such as allocateJobId takes a
 * `randomInt`, and this module supplies the real one.
 */
import { randomBytes, randomInt } from 'node:crypto';

/** An integer in [0, maxExclusive), from the OS's CSPRNG. */
export function systemRandomInt(maxExclusive: number): number {
  return randomInt(maxExclusive);
}

/** A short random token for unique temporary file names (hex, `bytes * 2` characters). */
export function randomToken(bytes = 6): string {
  return randomBytes(bytes).toString('hex');
}
