import { userInfo } from 'node:os';
import { runProgram } from './exec.js';

/** The user running rp, as the host knows them. */
export interface HostUser {
  name: string;
  uid: number;
  gid: number;
}

/**
 * The supplementary group ids of this process, sorted and without duplicates. rp runs as the
 * user, so these are exactly the groups the user can read files through on the host right now;
 * a job given the same groups reads the same group-readable data and no more. Asking the group
 * database instead (`id -G NAME`, /etc/group) would also hand out a group granted after the user
 * logged in, and costs a child process or a file parse for what the kernel already knows.
 */
export function supplementaryGroups(): number[] {
  const groups = process.getgroups?.() ?? [];
  return [...new Set(groups)].sort((a, b) => a - b);
}

/**
 * The invoking user. os.userInfo() throws when the uid has no passwd entry (common inside
 * containers); the user then gets a name from $USER or their uid.
 */
export function currentUser(): HostUser {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  try {
    const info = userInfo();
    return { name: info.username, uid: info.uid, gid: info.gid };
  } catch {
    return { name: process.env.USER || `uid${uid}`, uid, gid };
  }
}

/**
 * The uid of user `name` as the host's user database knows it (`id -u`, which asks NSS, so LDAP
 * and other directories count as much as /etc/passwd), or undefined when there is no such user.
 */
export async function uidOf(name: string): Promise<number | undefined> {
  // `id` takes "--" as the end of options, so a name that starts with "-" is not read as one.
  const result = await runProgram('id', ['-u', '--', name], { timeoutMs: 10_000 });
  const uid = result.stdout.trim();
  return result.exitCode === 0 && /^\d+$/.test(uid) ? Number(uid) : undefined;
}
