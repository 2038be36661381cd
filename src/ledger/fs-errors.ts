/**
 * File-system failures on the host directory become ConfigErrors that name the path and say what
 * to do, so a user who cannot write /var/lib/rp sees one line and a hint, never a stack trace.
 */
import { dirname } from 'node:path';
import { ConfigError, RpError } from '../core/errors.js';

/**
 * `error` as a user-facing error about `action` ("write", "lock", ...) on `path`. RpErrors pass
 * through unchanged, and so does anything that is not an errno error: that is a bug, not a problem
 * with the host.
 */
export function toConfigError(error: unknown, path: string, action: string): unknown {
  if (error instanceof RpError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code !== 'string') return error;
  const dir = dirname(path);
  const options = (hint: string) => ({ hint, cause: error });
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new ConfigError(
        `cannot ${action} ${path}: permission denied`,
        options(
          `rp keeps the host's job ledger in ${dir}, which every rp user must be able to write; ` +
            `ask an administrator (e.g. \`sudo install -d -m 2775 -g rp ${dir}\` with rp users in group rp)`,
        ),
      );
    case 'ENOSPC':
      return new ConfigError(
        `cannot ${action} ${path}: no space left on the device`,
        options(`free some space on the file system that holds ${dir}`),
      );
    case 'EDQUOT':
      return new ConfigError(
        `cannot ${action} ${path}: disk quota exceeded`,
        options(`free some space in your quota on the file system that holds ${dir}`),
      );
    case 'EROFS':
      return new ConfigError(
        `cannot ${action} ${path}: the file system is read-only`,
        options(`rp needs a writable host directory; ${dir} is on a read-only mount`),
      );
    case 'ENOENT':
    case 'ENOTDIR':
      return new ConfigError(
        `cannot ${action} ${path}: ${dir} does not exist or is not a directory`,
        options(`create ${dir} (writable by every rp user) or point rp at another host directory`),
      );
    default:
      return new ConfigError(
        `cannot ${action} ${path}: ${(error as Error).message}`,
        options(`check ${dir} and the file system it is on`),
      );
  }
}
