import { readdir, readFile } from 'node:fs/promises';

/**
 * The pids of the live host supervisors (`rp supervise`) of the host at `rpHome`, found through
 * /proc: their command line and the RP_HOME of their environment. Other test files' hosts have
 * supervisors of their own at the same time.
 */
export async function supervisorPids(rpHome: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0');
      if (argv[2] !== 'supervise' || !argv[1]?.endsWith('/bin/run.js')) continue;
      const environ = (await readFile(`/proc/${name}/environ`, 'utf8')).split('\0');
      if (environ.includes(`RP_HOME=${rpHome}`)) pids.push(Number(name));
    } catch {
      // Ended meanwhile.
    }
  }
  return pids;
}

/** Kills the host supervisors of `rpHome` (a test that failed half-way may leave one). */
export async function killSupervisors(rpHome: string): Promise<void> {
  for (const pid of await supervisorPids(rpHome)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}
