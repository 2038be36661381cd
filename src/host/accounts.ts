/**
 * Other users' accounts, for work rp does on a user's behalf as root (a drop-folder job runs as
 * the owner of the file): who a uid is, and making folders and files in their home *as them*, in
 * a child process with their uid and gid, so a link planted in their folders can only ever lead
 * where they themselves may write.
 */
import { runProgram } from './exec.js';
import type { HostUser } from './identity.js';

export interface Account extends HostUser {
  home: string;
}

/** The account of `uid` from the host's user database (NSS: LDAP counts), or undefined. */
export async function accountOf(uid: number): Promise<Account | undefined> {
  const result = await runProgram('getent', ['passwd', String(uid)], { timeoutMs: 10_000 });
  if (result.exitCode !== 0) return undefined;
  const fields = result.stdout.trim().split('\n')[0]?.split(':') ?? [];
  const [name, , uidText, gidText, , home] = fields;
  if (!name || !home || uidText !== String(uid) || !/^\d+$/.test(gidText ?? '')) return undefined;
  return { name, uid, gid: Number(gidText), home };
}

/** The supplementary groups of user `name` (`id -G`), sorted; [] when unknown. */
export async function groupsOf(name: string): Promise<number[]> {
  const result = await runProgram('id', ['-G', '--', name], { timeoutMs: 10_000 });
  if (result.exitCode !== 0) return [];
  const ids = result.stdout
    .trim()
    .split(/\s+/)
    .filter((id) => /^\d+$/.test(id))
    .map(Number);
  return [...new Set(ids)].sort((a, b) => a - b);
}

/** What went wrong doing something as another user: their program's own words. */
export class AsUserError extends Error {}

type Owner = Pick<Account, 'uid' | 'gid'>;

/**
 * Makes `dir` as `owner`, with any missing parents. With `fresh`, the last folder must not exist
 * yet: false is returned when it does (nothing is changed then).
 */
export async function makeDirAs(owner: Owner, dir: string, fresh: boolean): Promise<boolean> {
  const slash = dir.lastIndexOf('/');
  const parent = dir.slice(0, slash) || '/';
  await succeedAs(owner, 'mkdir', ['-p', '--', fresh ? parent : dir]);
  if (!fresh) return true;
  const result = await runProgram('mkdir', ['--', dir], { as: owner, timeoutMs: 30_000 });
  if (result.exitCode === 0) return true;
  if (/exists/i.test(result.stderr)) return false;
  throw new AsUserError(result.stderr.trim() || `mkdir ${dir} failed`);
}

/**
 * Writes a copy of `source` (a file this process can read) to `target` as `owner`: the new file
 * is theirs, made with their rights. An existing `target` is replaced.
 */
export async function copyFileAs(owner: Owner, source: string, target: string): Promise<void> {
  // dd reads its standard input as it is (a pipe or this process's open file), never by a path.
  await succeedAs(owner, 'dd', [`of=${target}`, 'bs=1M', 'status=none'], source);
}

async function succeedAs(
  owner: Owner,
  program: string,
  args: string[],
  inputFile?: string,
): Promise<void> {
  const result = await runProgram(program, args, {
    as: owner,
    timeoutMs: 10 * 60_000,
    ...(inputFile === undefined ? {} : { inputFile }),
  });
  if (result.exitCode !== 0) {
    throw new AsUserError(result.stderr.trim() || `${program} ${args.join(' ')} failed`);
  }
}
