import { execa } from 'execa';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dockerAvailable } from './docker.js';
import { runningAsRoot } from './unix-user.js';

const START = fileURLToPath(new URL('../../scripts/ssh/start.sh', import.meta.url));

/** The server scripts/ssh/start.sh brings up, as its KEY=VALUE lines describe it. */
export interface SshServer {
  /** An ssh config file naming the server `alias` (host key pinned, the user key). */
  config: string;
  alias: string;
  user: string;
  home: string;
  identity: string;
  /** The server's RP_HOME. */
  rpHome: string;
  /** sshd's log: one "Accepted publickey" line per login. */
  log: string;
}

/**
 * The remote tests need root (packages, a user, sshd) and Docker. Outside CI they are skipped
 * without them; under CI they run and fail, as the Docker tests do.
 */
export const skipWithoutSsh = !process.env.CI && (!runningAsRoot || !dockerAvailable);

/** Runs scripts/ssh/start.sh (idempotent: quick when the server is up) and reads what it says. */
export async function startSshServer(): Promise<SshServer> {
  const result = await execa('bash', [START], { reject: false, timeout: 300_000 });
  if (result.exitCode !== 0) {
    throw new Error(`scripts/ssh/start.sh failed (${result.exitCode}): ${result.stderr}`);
  }
  const values = Object.fromEntries(
    result.stdout
      .split('\n')
      .map((line) => /^(RP_SSH_\w+)=(.*)$/.exec(line))
      .filter((match) => match !== null)
      .map((match) => [match[1], match[2]]),
  ) as Record<string, string>;
  const need = (key: string): string => {
    const value = values[key];
    if (!value) throw new Error(`scripts/ssh/start.sh did not print ${key}: ${result.stdout}`);
    return value;
  };
  return {
    config: need('RP_SSH_CONFIG'),
    alias: need('RP_SSH_ALIAS'),
    user: need('RP_SSH_USER'),
    home: need('RP_SSH_HOME'),
    identity: need('RP_SSH_IDENTITY'),
    rpHome: need('RP_SSH_RP_HOME'),
    log: need('RP_SSH_LOG'),
  };
}

/** The ssh processes whose parent is `pid` (rp's own: followers, submissions). */
export async function childSshPids(pid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'ssh' && ppid === pid) pids.push(Number(name));
    } catch {
      // Ended meanwhile.
    }
  }
  return pids;
}

/** The pids of the ssh masters whose sockets are in `controlDir` (ssh -O check says). */
export async function masterPids(
  controlDir: string,
  config: string,
  alias: string,
): Promise<number[]> {
  const pids: number[] = [];
  for (const socket of await readdir(controlDir)) {
    const check = await execa(
      'ssh',
      ['-F', config, '-S', `${controlDir}/${socket}`, '-O', 'check', alias],
      {
        reject: false,
      },
    );
    const pid = /pid=(\d+)/.exec(check.stderr)?.[1];
    if (pid) pids.push(Number(pid));
  }
  return pids;
}
