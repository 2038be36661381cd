/**
 * Who a request acts as: the user of its bearer token (see src/services/api-tokens.ts). Without
 * a valid one, 401. Unix accounts are looked up once per uid while the server runs.
 */
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../core/api-errors.js';
import { bearerToken } from '../core/tokens.js';
import { accountOf } from '../host/accounts.js';
import type { HostUser } from '../host/identity.js';
import { authenticate } from '../services/api-tokens.js';

export class Unauthorized extends ApiError {
  constructor(message: string) {
    super(401, 'unauthorized', message, {
      hint: 'send "Authorization: Bearer <token>"; "rp token create" makes one',
    });
  }
}

export type Authenticator = (request: FastifyRequest) => Promise<HostUser>;

export function tokenAuthenticator(rpHome: string, now: () => Date): Authenticator {
  const accounts = new Map<number, HostUser | undefined>();
  const lookUp = async (uid: number): Promise<HostUser | undefined> => {
    if (!accounts.has(uid)) accounts.set(uid, await accountOf(uid));
    return accounts.get(uid);
  };
  return async (request) => {
    const presented = bearerToken(request.headers.authorization);
    if (presented === undefined) throw new Unauthorized('no token: this API needs one');
    const found = await authenticate(rpHome, presented, now(), lookUp);
    if (found === undefined)
      throw new Unauthorized('the token is not valid (unknown, revoked or expired)');
    return found.user;
  };
}
