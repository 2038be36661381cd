/**
 * The folder of API tokens, `<rpHome>/queue/tokens`, mode 1733 (see tokens.ts for why). Apart from
 * the token files so that setting up a host does not load their schema.
 */
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { ledgerPaths } from './paths.js';

export const TOKENS_DIR = 'tokens';
export const TOKENS_DIR_MODE = 0o1733;

export function tokensDir(rpHome: string): string {
  return join(ledgerPaths(rpHome).dir, TOKENS_DIR);
}

/** Makes the tokens folder (1733) when it is missing; leaves an existing one as it is. */
export async function ensureTokensDir(rpHome: string): Promise<string> {
  const dir = tokensDir(rpHome);
  try {
    await mkdir(dir, { mode: TOKENS_DIR_MODE });
    // mkdir applies the umask; chmod does not.
    await chmod(dir, TOKENS_DIR_MODE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new ConfigError(`cannot make ${dir}: ${(error as Error).message}`, {
        hint: 'rp keeps API tokens in the queue folder; "rp host init" makes it writable for rp users',
      });
    }
  }
  return dir;
}
