/**
 * API tokens for `rp serve` (`rp token create|list|revoke`): what a token looks like, how it is
 * kept (only its SHA-256: a token is 32 random bytes, so a fast hash cannot be searched back), and
 * when it is valid. Pure: the random bytes and the clock are passed in.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import * as z from './zod.js';
import { LENGTH_FORMS, parseSeconds } from './durations.js';
import { UsageError } from './errors.js';

/** Every token starts with this, so a leaked one is recognisable (secret scanners, logs). */
export const TOKEN_PREFIX = 'rpt_';
/** Random bytes in a token. */
export const TOKEN_BYTES = 32;
/** `--expires` when not given. */
export const DEFAULT_TOKEN_EXPIRY = '90d';

export const tokenRecordSchema = z.object({
  id: z.string().regex(/^tok_[0-9a-f]{8}$/),
  name: z.string(),
  /** Hex SHA-256 of the whole token. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.iso.datetime(),
  /** Null: never expires (`--expires never`). */
  expiresAt: z.iso.datetime().nullable(),
});
export type TokenRecord = z.infer<typeof tokenRecordSchema>;

/** One user's file of tokens. */
export const tokenFileSchema = z.object({
  version: z.literal(1),
  tokens: z.array(tokenRecordSchema),
});
export type TokenFile = z.infer<typeof tokenFileSchema>;

/** A token as `rp token list` shows it: never the hash. */
export interface TokenView {
  id: string;
  name: string;
  createdAt: string;
  expiresAt: string | null;
  expired: boolean;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new token and its record; `secret` is TOKEN_BYTES random bytes, `idBytes` 4 more. */
export function newToken(
  secret: Buffer,
  idBytes: Buffer,
  options: { name: string; expiresAt: Date | null; now: Date },
): { token: string; record: TokenRecord } {
  if (secret.length < TOKEN_BYTES) throw new Error('bug: a token needs 32 random bytes');
  const token = `${TOKEN_PREFIX}${secret.toString('base64url')}`;
  return {
    token,
    record: {
      id: `tok_${idBytes.subarray(0, 4).toString('hex')}`,
      name: options.name,
      hash: hashToken(token),
      createdAt: options.now.toISOString(),
      expiresAt: options.expiresAt?.toISOString() ?? null,
    },
  };
}

/** `--expires 90d` (any length rp reads) or `never`; the instant it ends, or null for never. */
export function tokenExpiry(text: string, now: Date): Date | null {
  if (/^(never|unlimited)$/i.test(text.trim())) return null;
  const seconds = parseSeconds(text);
  if (seconds === undefined || seconds <= 0) {
    throw new UsageError(`--expires: "${text}" is not a length of time above 0`, {
      hint: `use ${LENGTH_FORMS}, or "never"`,
    });
  }
  return new Date(now.getTime() + seconds * 1000);
}

export function isExpired(record: Pick<TokenRecord, 'expiresAt'>, now: Date): boolean {
  return record.expiresAt !== null && Date.parse(record.expiresAt) <= now.getTime();
}

export function tokenView(record: TokenRecord, now: Date): TokenView {
  const { id, name, createdAt, expiresAt } = record;
  return { id, name, createdAt, expiresAt, expired: isExpired(record, now) };
}

/**
 * The record among `records` that `presented` is a valid token of, or undefined: unknown,
 * expired, or not even shaped like a token. Hashes are compared in constant time.
 */
export function matchToken(
  records: readonly TokenRecord[],
  presented: string,
  now: Date,
): TokenRecord | undefined {
  if (!presented.startsWith(TOKEN_PREFIX) || presented.length > 200) return undefined;
  const hash = Buffer.from(hashToken(presented), 'hex');
  const found = records.find((record) => timingSafeEqual(Buffer.from(record.hash, 'hex'), hash));
  return found === undefined || isExpired(found, now) ? undefined : found;
}

/** The bearer token of an Authorization header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
