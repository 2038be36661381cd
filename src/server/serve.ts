/**
 * Runs the server until a signal: on a TCP address or a Unix socket. The server holds no state of
 * its own (tokens and jobs are read from the host directory on every request), so stopping it at
 * any moment loses nothing.
 */
import { chmod, rm } from 'node:fs/promises';
import createDebug from 'debug';
import { ConfigError } from '../core/errors.js';
import type { ListenAddress } from '../core/listen-address.js';
import { ensureTokensDir } from '../ledger/tokens-dir.js';
import type { HostSession } from '../services/host-session.js';
import { buildServer } from './app.js';

const debug = createDebug('rp:serve');

export interface ServeOptions {
  session: HostSession;
  listen: ListenAddress | { socket: string };
  rateLimit: number;
  rateWindowMs: number;
  signal: AbortSignal;
  /** Told where the server listens once it does. */
  listening(url: string): void;
}

export async function serve(options: ServeOptions): Promise<void> {
  const { session, listen } = options;
  // Users make their token files here; made now by the admin starting the server, it is root's.
  await ensureTokensDir(session.rpHome);
  const app = await buildServer(options);
  let url: string;
  const where = 'socket' in listen ? listen.socket : `${listen.host}:${listen.port}`;
  try {
    if ('socket' in listen) {
      await rm(listen.socket, { force: true });
      await app.listen({ path: listen.socket });
      // Who may connect is decided by the token, not the socket's mode.
      await chmod(listen.socket, 0o666);
      url = `unix:${listen.socket}`;
    } else {
      url = await app.listen({ host: listen.host, port: listen.port });
    }
  } catch (error) {
    await app.close();
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOENT', 'EPERM'].includes(code)) throw error;
    throw new ConfigError(`cannot listen on ${where}: ${(error as Error).message}`, {
      hint: 'choose another address with --listen HOST:PORT, or another --socket path',
    });
  }
  options.listening(url);
  await new Promise<void>((resolve) => {
    if (options.signal.aborted) resolve();
    options.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  debug('closing…');
  await app.close();
}
