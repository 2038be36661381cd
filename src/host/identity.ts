import { userInfo } from 'node:os';

/** The user running rp, as the host knows them. */
export interface HostUser {
  name: string;
  uid: number;
  gid: number;
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
