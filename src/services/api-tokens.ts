/**
 * `rp token create|list|revoke`, and the server's question "whose token is this?". A user manages
 * only their own tokens (the file is theirs: see src/ledger/tokens.ts); the server, run by root,
 * reads everyone's.
 */
import { randomBytes } from 'node:crypto';
import createDebug from 'debug';
import { ConfigError } from '../core/errors.js';
import {
  matchToken,
  newToken,
  tokenView,
  TOKEN_BYTES,
  type TokenRecord,
  type TokenView,
} from '../core/tokens.js';
import { accountOf } from '../host/accounts.js';
import type { HostUser } from '../host/identity.js';
import { readAllTokens, readUserTokens, updateUserTokens } from '../ledger/tokens.js';

const debug = createDebug('rp:tokens');

export interface CreateTokenOptions {
  rpHome: string;
  user: HostUser;
  name: string;
  expiresAt: Date | null;
  now: Date;
}

/** A new token: the secret, shown once, and what `rp token list` will show of it. */
export interface CreatedToken extends TokenView {
  token: string;
}

export async function createToken(options: CreateTokenOptions): Promise<CreatedToken> {
  const { token, record } = newToken(randomBytes(TOKEN_BYTES), randomBytes(4), options);
  await updateUserTokens(options.rpHome, options.user.uid, (tokens) => ({
    tokens: [...tokens, record],
    result: undefined,
  }));
  debug('created token %s for %s', record.id, options.user.name);
  return { token, ...tokenView(record, options.now) };
}

export async function listTokens(rpHome: string, user: HostUser, now: Date): Promise<TokenView[]> {
  return (await readUserTokens(rpHome, user.uid)).map((record) => tokenView(record, now));
}

/** Removes the caller's token `id` (an id or a name); returns what was removed. */
export async function revokeToken(
  rpHome: string,
  user: HostUser,
  id: string,
  now: Date,
): Promise<TokenView> {
  return updateUserTokens(rpHome, user.uid, (tokens) => {
    const byId = tokens.filter((record) => record.id === id);
    const matching = byId.length > 0 ? byId : tokens.filter((record) => record.name === id);
    const [only, ...others] = matching;
    if (only === undefined) {
      throw new ConfigError(`you have no token ${id}`, { hint: '"rp token list" shows yours' });
    }
    if (others.length > 0) {
      throw new ConfigError(`${matching.length} of your tokens are named ${id}`, {
        hint: 'revoke one by its id (tok_…); "rp token list" shows them',
      });
    }
    return {
      tokens: tokens.filter((record) => record !== only),
      result: tokenView(only, now),
    };
  });
}

/** The user a presented token acts as, and the token's record; undefined: not a valid token. */
export interface Authenticated {
  user: HostUser;
  token: TokenRecord;
}

/**
 * The server's look-up. The token files are read again on every request (a few small files), so
 * a revoked token stops working at once and the server keeps no state the files do not hold.
 */
export async function authenticate(
  rpHome: string,
  presented: string,
  now: Date,
  lookUp: (uid: number) => Promise<HostUser | undefined> = accountOf,
): Promise<Authenticated | undefined> {
  const owned = await readAllTokens(rpHome);
  const record = matchToken(
    owned.map((entry) => entry.record),
    presented,
    now,
  );
  const entry = owned.find((candidate) => candidate.record === record);
  if (entry === undefined) return undefined;
  const account = await lookUp(entry.uid);
  if (account === undefined) {
    debug('token %s belongs to uid %d, which has no account', entry.record.id, entry.uid);
    return undefined;
  }
  return { user: { name: account.name, uid: account.uid, gid: account.gid }, token: entry.record };
}
