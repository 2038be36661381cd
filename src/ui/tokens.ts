import type { TokenView } from '../core/tokens.js';
import { renderTable } from './tables.js';

/** `rp token list` for people: one line per token, the secret never shown. */
export function renderTokens(tokens: readonly TokenView[]): string[] {
  return renderTable(
    [{ header: 'ID' }, { header: 'NAME' }, { header: 'CREATED' }, { header: 'EXPIRES' }],
    tokens.map((token) => [
      token.id,
      token.name,
      token.createdAt.slice(0, 16).replace('T', ' '),
      token.expiresAt === null
        ? 'never'
        : `${token.expiresAt.slice(0, 16).replace('T', ' ')}${token.expired ? ' (expired)' : ''}`,
    ]),
  );
}
