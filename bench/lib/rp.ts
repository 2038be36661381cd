/**
 * rp as a user drives it, in a private sandbox: a snapshot of the built CLI (so a rebuild of dist/
 * by someone else mid-run cannot change what is measured), a temporary RP_HOME made with
 * `rp host init`, and a temporary project made with `rp init` whose image is built once.
 */
import { access, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { mustRun, runProcess, sleep, until, type ProcessResult } from './process.js';
import { removeContainers, removeImages } from '../peers/docker.js';
import { readHistory } from '../../src/ledger/history.js';
import { ledgerPaths } from '../../src/ledger/paths.js';

export const BASE_IMAGE = process.env.RP_BASE_IMAGE ?? 'rp-base:bookworm';

export interface RpSandbox {
  /** Temporary folder holding everything below. */
  root: string;
  /** The snapshot's bin/run.js. */
  bin: string;
  rpHome: string;
  project: string;
  /** The project's image, as `rp build` reported it. */
  image: string;
  /** Label selecting every container and image rp makes for the project. */
  projectLabel: string;
}

export interface LedgerJob {
  id: string;
  state: string;
  supervisor: { pid: number };
}

/**
 * The job scripts. hold.sh holds its grant until the benchmark creates .bench-go/<arg> or .bench-go/all (bounded:
 * it gives up after 30 minutes, so nothing waits forever; it runs under bash, which counts SECONDS).
 * It looks every 50 ms: every 10 ms, its `sleep`s took a third of a core from whatever a section
 * measured while it held the machine (rp's submissions above all); now about 9 %, and a release
 * reaches it 25 ms later on average, for rp and Slurm alike.
 */
const SCRIPTS: Record<string, string> = {
  'true.sh': 'exit 0\n',
  'hold.sh':
    'mkdir -p .bench-go && : > ".bench-go/$1.up"\n' +
    'while [ ! -e ".bench-go/$1" ] && [ ! -e .bench-go/all ] && [ "$SECONDS" -lt 1800 ]; do\n' +
    '  sleep 0.05\ndone\n',
};

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** dist/ and the manifest, built when missing (another engineer may be rebuilding: retry). */
async function ensureBuilt(repo: string, log: (line: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    const built =
      (await exists(join(repo, 'dist/commands/run.js'))) &&
      (await exists(join(repo, 'oclif.manifest.json')));
    if (built) return;
    if (attempt > 3) throw new Error('dist/ is missing and `npm run build` did not make it');
    log(`dist/ is missing: npm run build (attempt ${attempt})`);
    const result = await runProcess('npm', ['run', 'build'], { cwd: repo, timeoutMs: 300_000 });
    if (result.code !== 0) {
      log(`npm run build failed: ${result.stderr.trim().slice(-500)}`);
      await sleep(5_000);
    }
  }
}

async function snapshot(repo: string, target: string, log: (line: string) => void) {
  for (let attempt = 1; ; attempt += 1) {
    await ensureBuilt(repo, log);
    try {
      await mkdir(target, { recursive: true });
      for (const entry of ['bin', 'dist', 'templates', 'package.json', 'oclif.manifest.json']) {
        await cp(join(repo, entry), join(target, entry), { recursive: true });
      }
      await symlink(join(repo, 'node_modules'), join(target, 'node_modules'), 'dir');
      const bin = join(target, 'bin/run.js');
      await mustRun(process.execPath, [bin, '--version'], { timeoutMs: 30_000 });
      return bin;
    } catch (error) {
      // A rebuild in progress removes dist/ for a moment: try again.
      if (attempt >= 3) throw error;
      log(`snapshot of the CLI failed (${(error as Error).message}); retrying`);
      await rm(target, { recursive: true, force: true });
      await sleep(5_000);
    }
  }
}

export function rp(
  sandbox: Pick<RpSandbox, 'bin' | 'rpHome' | 'project'>,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number } = {},
): Promise<ProcessResult> {
  return runProcess(process.execPath, [sandbox.bin, ...args], {
    cwd: options.cwd ?? sandbox.project,
    env: { RP_HOME: sandbox.rpHome, NO_COLOR: '1' },
    timeoutMs: options.timeoutMs ?? 120_000,
  });
}

/** The job id `rp run --detach` prints ("rp1234 runs in the background"). */
export function detachedJobId(stdout: string): string | undefined {
  return /rp(\d+) runs in the background/.exec(stdout)?.[1];
}

/** `rp run --detach` that must succeed; returns the job id. */
export async function submitDetached(sandbox: RpSandbox, args: readonly string[]) {
  const result = await rp(sandbox, ['run', ...args, '--detach']);
  const id = detachedJobId(result.stdout);
  if (result.code !== 0 || id === undefined) {
    throw new Error(`rp run ${args.join(' ')} --detach failed (${result.code}): ${result.stderr}`);
  }
  return { id, ms: result.ms };
}

/** The ledger file, for what ledgerJobs leaves out (the host supervisor). */
export async function ledgerState(
  sandbox: RpSandbox,
): Promise<{ jobs: LedgerJob[]; hostSupervisor?: { pid: number } }> {
  try {
    const ledger = JSON.parse(await readFile(ledgerPaths(sandbox.rpHome).ledger, 'utf8')) as {
      jobs?: LedgerJob[];
      hostSupervisor?: { pid: number };
    };
    return { ...ledger, jobs: ledger.jobs ?? [] };
  } catch {
    return { jobs: [] };
  }
}

/**
 * The ledger's jobs, read straight from the file (every write renames a complete file into place,
 * so a read without the lock sees a whole version). Cheaper than `rp ps --json` for polling.
 */
export async function ledgerJobs(sandbox: RpSandbox): Promise<LedgerJob[]> {
  try {
    const ledger = JSON.parse(await readFile(ledgerPaths(sandbox.rpHome).ledger, 'utf8')) as {
      jobs?: LedgerJob[];
    };
    return ledger.jobs ?? [];
  } catch {
    return [];
  }
}

export interface HistoryRecord {
  id: string;
  command: string;
  submittedAt: string;
  startedAt?: string;
  endedAt: string;
  ending: string;
  exitCode?: number;
}

export async function historyRecords(sandbox: RpSandbox): Promise<HistoryRecord[]> {
  // A line being appended right now is skipped; it is read on the next poll.
  return (await readHistory(ledgerPaths(sandbox.rpHome).history)).records;
}

/** Releases hold.sh jobs waiting for `key`. */
export async function release(projectRoot: string, key: string): Promise<void> {
  await mkdir(join(projectRoot, '.bench-go'), { recursive: true });
  await writeFile(join(projectRoot, '.bench-go', key), '');
}

/** Waits until hold.sh of `key` has begun, in its container (it says so in .bench-go/KEY.up). */
export async function holderUp(projectRoot: string, key: string): Promise<void> {
  await until(
    `hold.sh ${key} to begin`,
    async () => ((await exists(join(projectRoot, '.bench-go', `${key}.up`))) ? true : undefined),
    60_000,
    50,
  );
}

/** Whether `pid` is a process of this sandbox's CLI snapshot (so it is ours to end). */
async function isSandboxProcess(pid: number, bin: string): Promise<boolean> {
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.split('\0').includes(bin);
}

/**
 * Ends every job of the sandbox: `rp kill` for each, then whatever survives (supervisors of this
 * snapshot, by pid; containers by the project's label). Leaves the ledger empty.
 */
export async function endAllJobs(sandbox: RpSandbox): Promise<void> {
  const jobs = await ledgerJobs(sandbox);
  if (jobs.length > 0) {
    await release(sandbox.project, 'all').catch(() => undefined);
    for (const job of jobs) await rp(sandbox, ['kill', job.id], { timeoutMs: 30_000 });
    await until(
      'the ledger to be empty after rp kill',
      async () => ((await ledgerJobs(sandbox)).length === 0 ? true : undefined),
      30_000,
      200,
    ).catch(() => undefined);
  }
  const left = await ledgerState(sandbox);
  const pids = [...left.jobs.map((job) => job.supervisor.pid), left.hostSupervisor?.pid ?? 0];
  for (const pid of pids) {
    if (pid > 0 && (await isSandboxProcess(pid, sandbox.bin))) process.kill(pid, 'SIGKILL');
  }
  await removeContainers(sandbox.projectLabel);
  await rm(join(sandbox.project, '.bench-go', 'all'), { force: true });
}

/** Makes the sandbox and registers its removal. */
export async function prepareSandbox(
  repo: string,
  cleanup: Cleanup,
  log: (line: string) => void,
): Promise<RpSandbox> {
  const root = await mkdtemp(join(tmpdir(), 'rp-bench-'));
  cleanup.add(`remove ${root}`, () => rm(root, { recursive: true, force: true }));
  const bin = await snapshot(repo, join(root, 'rp'), log);
  const rpHome = join(root, 'home');
  const project = join(root, 'bench');
  await mkdir(project, { recursive: true });
  const partial = { bin, rpHome, project };
  const check = (what: string, result: ProcessResult): ProcessResult => {
    if (result.code !== 0) throw new Error(`${what} failed (${result.code}): ${result.stderr}`);
    return result;
  };
  check('rp host init', await rp(partial, ['host', 'init']));
  const projectLabel = `rp.project-path=${project}`;
  const sandbox: RpSandbox = { root, bin, rpHome, project, image: '', projectLabel };
  cleanup.add('remove the project images', () => removeImages(projectLabel));
  cleanup.add('end the jobs of the sandbox', () => endAllJobs(sandbox));
  check(
    'rp init',
    await rp(partial, ['init', '--base', BASE_IMAGE, '--cpu', '1', '--gpu', '0', '--mem', '0.25']),
  );
  for (const [name, text] of Object.entries(SCRIPTS)) await writeFile(join(project, name), text);
  const built = check('rp build', await rp(partial, ['build', '--quiet'], { timeoutMs: 300_000 }));
  sandbox.image = built.stdout.trim().split('\n').pop() ?? '';
  if (!sandbox.image) throw new Error('rp build printed no image reference');
  return sandbox;
}
