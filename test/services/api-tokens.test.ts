import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { readAllTokens, readUserTokens } from '../../src/ledger/tokens.js';
import { tokensDir } from '../../src/ledger/tokens-dir.js';
import {
  authenticate,
  createToken,
  listTokens,
  revokeToken,
} from '../../src/services/api-tokens.js';
import { makeTempDir } from '../support/tmp.js';

const NOW = new Date('2026-12-02T12:00:00Z');
const me = { name: 'me', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
const lookUp = async (uid: number) => (uid === me.uid ? me : undefined);

describe('the token store (a real folder)', () => {
  let rpHome: string;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ dir: rpHome, cleanup } = await makeTempDir('rp-tokens-'));
    await mkdir(join(rpHome, 'queue'));
  });
  afterEach(async () => cleanup());

  it('Given a new token, Then only its hash is on disk, in a 0600 file in a 1733 folder', async () => {
    const created = await createToken({ rpHome, user: me, name: 'ci', expiresAt: null, now: NOW });
    const file = join(tokensDir(rpHome), `${me.uid}.json`);
    expect((await stat(tokensDir(rpHome))).mode & 0o7777).toBe(0o1733);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const stored = await readUserTokens(rpHome, me.uid);
    expect(JSON.stringify(stored)).not.toContain(created.token.slice(4));
    expect(await listTokens(rpHome, me, NOW)).toEqual([
      { id: created.id, name: 'ci', createdAt: NOW.toISOString(), expiresAt: null, expired: false },
    ]);
  });

  it('Given two tokens, When one is revoked by name, Then only the other authenticates', async () => {
    const kept = await createToken({ rpHome, user: me, name: 'a', expiresAt: null, now: NOW });
    const gone = await createToken({ rpHome, user: me, name: 'b', expiresAt: null, now: NOW });
    expect((await revokeToken(rpHome, me, 'b', NOW)).id).toBe(gone.id);
    expect((await authenticate(rpHome, kept.token, NOW, lookUp))?.user).toEqual(me);
    expect(await authenticate(rpHome, gone.token, NOW, lookUp)).toBeUndefined();
    await expect(revokeToken(rpHome, me, 'b', NOW)).rejects.toThrow(ConfigError);
  });

  it('Given many tokens made at once, Then none is lost (one locked write each)', async () => {
    const made = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        createToken({ rpHome, user: me, name: `t${index}`, expiresAt: null, now: NOW }),
      ),
    );
    const ids = (await listTokens(rpHome, me, NOW)).map((token) => token.id).sort();
    expect(ids).toEqual(made.map((token) => token.id).sort());
  });

  it('ignores a token file others may write: its tokens do not work', async () => {
    const created = await createToken({ rpHome, user: me, name: 'x', expiresAt: null, now: NOW });
    await chmod(join(tokensDir(rpHome), `${me.uid}.json`), 0o666);
    expect(await readAllTokens(rpHome)).toEqual([]);
    expect(await authenticate(rpHome, created.token, NOW, lookUp)).toBeUndefined();
  });

  it('refuses a token file that is not JSON it can read, saying what to do', async () => {
    await createToken({ rpHome, user: me, name: 'x', expiresAt: null, now: NOW });
    await writeFile(join(tokensDir(rpHome), `${me.uid}.json`), 'nonsense');
    await expect(readUserTokens(rpHome, me.uid)).rejects.toThrow(/not a token file/);
  });
});
