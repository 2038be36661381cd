/**
 * Where API tokens are kept: `<rpHome>/queue/tokens/<uid>.json`, one file per user, mode 0600 and
 * owned by that user, in a folder of mode 1733.
 *
 * Why this layout: `rp token create` runs as the user (not root), so the user must be able to
 * write their own file, while no user may read, list, replace or remove another's. 1733 is
 * /tmp's rule without listing: anyone may create a file there (the -wx for others), nobody but
 * root can list the folder (no r), and the sticky bit lets only a file's owner rename over or
 * remove it. Whose tokens a file holds is decided by the file's owner as the kernel records it,
 * never by its name or contents: a user who plants a file named after another's uid gains
 * nothing (its tokens still act as the planter); at worst the other user is told to ask root to
 * remove it. Only the hashes are stored, so even root's backups hold no usable token.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { tokenFileSchema, type TokenFile, type TokenRecord } from '../core/tokens.js';
import { writeFileAtomic } from './atomic-write.js';
import { DEFAULT_LOCK_SETTINGS, withFileLock } from './lock.js';
import { ensureTokensDir, tokensDir } from './tokens-dir.js';

const FILE_MODE = 0o600;
const FILE_NAME = /^(\d{1,10})\.json$/;

/** A token with the uid of the user it acts as. */
export interface OwnedToken {
  uid: number;
  record: TokenRecord;
}

/** The tokens of `uid`: none when the file is missing. */
export async function readUserTokens(rpHome: string, uid: number): Promise<TokenRecord[]> {
  const file = join(tokensDir(rpHome), `${uid}.json`);
  const stats = await lstat(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (stats === undefined) return [];
  if (!stats.isFile() || stats.uid !== uid) {
    throw new ConfigError(`${file} is not a file of yours`, {
      hint: 'someone else made it; ask an administrator to remove it',
    });
  }
  return parseTokenFile(file, await readFile(file, 'utf8')).tokens;
}

/** One locked read-modify-write of the caller's (`uid`, this process's user) token file. */
export async function updateUserTokens<T>(
  rpHome: string,
  uid: number,
  change: (tokens: TokenRecord[]) => { tokens: TokenRecord[]; result: T },
): Promise<T> {
  const dir = await ensureTokensDir(rpHome);
  const file = join(dir, `${uid}.json`);
  return withFileLock(
    { target: file, lockPath: `${file}.lock`, settings: DEFAULT_LOCK_SETTINGS },
    async (lock) => {
      const { tokens, result } = change(await readUserTokens(rpHome, uid));
      const content: TokenFile = { version: 1, tokens };
      await writeFileAtomic(file, `${JSON.stringify(content, null, 2)}\n`, {
        mode: FILE_MODE,
        beforeRename: () => lock.assertHeld(),
      });
      return result;
    },
  );
}

/**
 * Every user's tokens, for the server (root reads every file). A file that is not a regular file,
 * is writable by others, or cannot be read is skipped: its tokens simply do not work.
 */
export async function readAllTokens(rpHome: string): Promise<OwnedToken[]> {
  const dir = tokensDir(rpHome);
  const names = await readdir(dir).catch(() => [] as string[]);
  const owned: OwnedToken[] = [];
  for (const name of names) {
    if (!FILE_NAME.test(name)) continue;
    const file = join(dir, name);
    try {
      const stats = await lstat(file);
      if (!stats.isFile() || (stats.mode & 0o022) !== 0) continue;
      const { tokens } = parseTokenFile(file, await readFile(file, 'utf8'));
      // The owner the kernel records, not the name: see the top of this file.
      for (const record of tokens) owned.push({ uid: stats.uid, record });
    } catch {
      continue;
    }
  }
  return owned;
}

function parseTokenFile(file: string, text: string): TokenFile {
  try {
    return tokenFileSchema.parse(JSON.parse(text));
  } catch (error) {
    throw new ConfigError(`${file} is not a token file rp can read: ${(error as Error).message}`, {
      hint: 'remove it (your tokens are then gone) and create new ones with "rp token create"',
    });
  }
}
