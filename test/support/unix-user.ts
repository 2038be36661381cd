import { execa } from 'execa';
import { readFile } from 'node:fs/promises';

export interface UnixUser {
  name: string;
  uid: number;
  gid: number;
}

async function taken(file: string, id: number): Promise<boolean> {
  const text = await readFile(file, 'utf8');
  return text.split('\n').some((line) => line.split(':')[2] === String(id));
}

/**
 * Creates a throwaway Unix user in the docker group, with a uid different from its gid so a
 * mapping of one for the other shows. Needs root (the tests run as root on these machines).
 */
export async function createUnixUser(prefix: string): Promise<UnixUser> {
  const name = `${prefix}${process.pid % 10000}`;
  let uid = 2300 + (process.pid % 500);
  while ((await taken('/etc/passwd', uid)) || (await taken('/etc/group', uid + 17))) uid += 1;
  const gid = uid + 17;
  await execa('groupadd', ['-g', String(gid), name]);
  await execa('useradd', [
    '-m',
    '-u',
    String(uid),
    '-g',
    String(gid),
    '-G',
    'docker',
    '-s',
    '/bin/bash',
    name,
  ]);
  return { name, uid, gid };
}

export async function removeUnixUser(user: UnixUser): Promise<void> {
  await execa('userdel', ['-r', '-f', user.name], { reject: false });
  await execa('groupdel', [user.name], { reject: false });
}

export const runningAsRoot = process.getuid?.() === 0;
