/**
 * Runs rp's own CLI as another user, for work the server (run by root) does on a token's behalf
 * that must happen with that user's rights: submitting a job builds the image as them, reads their
 * project as them and records them as the submitter. `runuser` gives the child the user's uid, gid
 * and supplementary groups (the docker group included) and sets HOME, USER and LOGNAME; the rest
 * of the environment (RP_HOME, DOCKER_HOST) is kept. When the server already runs as that user,
 * rp is run directly.
 */
import { runProgram, type ExecResult } from './exec.js';
import type { HostUser } from './identity.js';
import { RP_BIN } from './package-info.js';

/** Not root, asked to act as someone else: the kernel would not let us. */
export class NotPermittedError extends Error {}

export async function runRpAs(
  user: HostUser,
  args: readonly string[],
  options: { cwd: string; timeoutMs: number },
): Promise<ExecResult> {
  const me = process.getuid?.() ?? 0;
  if (me === user.uid) return runProgram(process.execPath, [RP_BIN, ...args], options);
  if (me !== 0) {
    throw new NotPermittedError(`the server runs as uid ${me}, so it cannot act as ${user.name}`);
  }
  return runProgram('runuser', ['-u', user.name, '--', process.execPath, RP_BIN, ...args], options);
}
