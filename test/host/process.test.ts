import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  currentProcessRef,
  isProcessAlive,
  parseProcStat,
  processRefOf,
  readBootId,
} from '../../src/host/process.js';

/** A real stat line (from `cat /proc/self/stat`) with `comm` swapped for the given name. */
function statLine(pid: number, comm: string, startTime = '44533', state = 'S'): string {
  const after =
    `${state} 15219 15219 9771 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 ${startTime} 3133440 409 ` +
    '18446744073709551615 94083417866240 94083417886121 140736916054672 0 0 0 0 0 0 0 0 0 17 0 0';
  return `${pid} (${comm}) ${after}\n`;
}

describe('parseProcStat', () => {
  it('reads pid, comm, state and the start time (field 22)', () => {
    expect(parseProcStat(statLine(15296, 'cat'))).toEqual({
      pid: 15296,
      comm: 'cat',
      state: 'S',
      startTime: '44533',
    });
  });

  it('finds the fields after the LAST parenthesis when comm contains ") (" and spaces', () => {
    // A process may name itself anything, including text that looks like the end of comm.
    const comm = 'evil) (S 1 2 3) x';
    expect(parseProcStat(statLine(42, comm, '987654', 'R'))).toEqual({
      pid: 42,
      comm,
      state: 'R',
      startTime: '987654',
    });
  });

  it('rejects text that is not a stat line', () => {
    expect(parseProcStat('')).toBeUndefined();
    expect(parseProcStat('garbage')).toBeUndefined();
    expect(parseProcStat('12 (short) S 1 2')).toBeUndefined();
  });
});

describe('process liveness', () => {
  it('says the current process is alive', async () => {
    const ref = await currentProcessRef();
    expect(ref.pid).toBe(process.pid);
    expect(ref.startTime).toMatch(/^\d+$/);
    expect(await isProcessAlive(ref)).toBe(true);
  });

  it('says a ref with the right pid but another start time is dead (a reused pid)', async () => {
    const ref = await currentProcessRef();
    const reused = { ...ref, startTime: String(BigInt(ref.startTime) + 1n) };
    expect(await isProcessAlive(reused)).toBe(false);
  });

  it('says a ref from another boot is dead', async () => {
    const ref = await currentProcessRef();
    if ((await readBootId()) === undefined) return; // a kernel without boot ids: nothing to check
    expect(await isProcessAlive({ ...ref, bootId: 'another-boot' })).toBe(false);
  });

  it('says the pid of an exited child is dead', async () => {
    // Given a real child process, identified while it runs
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], {
      stdio: 'ignore',
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error('spawn failed');
    const ref = await processRefOf(pid);
    if (!ref) throw new Error('the child vanished before it could be identified');
    expect(await isProcessAlive(ref)).toBe(true);

    // When it is killed and has exited
    child.kill('SIGKILL');
    await once(child, 'exit');

    // Then its ref is dead
    expect(await isProcessAlive(ref)).toBe(false);
  });
});
