import { execa } from 'execa';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { readHistory as readHistoryFiles } from '../../src/ledger/history.js';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { rp, RP_BIN, type RpResult } from './cli.js';
import { BASE_IMAGE, docker, removeProjectImages } from './docker.js';
import { killSupervisors } from './supervisors.js';
import { makeTempDir } from './tmp.js';

/** The parts of the ledger the tests read. */
export interface Ledger {
  jobs: Array<{ id: string; state: string; user: string }>;
}

/** The parts of a line of the history the tests read. */
export interface HistoryRecord {
  id: string;
  ending: string;
  exitCode?: number;
  logFile?: string;
  grant?: { gpus: number[]; cpus: number[]; memoryMb: number };
}

/** The parts of $RP_HOME/config.json the tests change. */
export interface HostConfig {
  capacity: Record<string, unknown>;
  limits?: Record<string, unknown>;
  gpus?: { unmanaged?: 'avoid' | 'ignore' };
}

export interface RpProjectOptions {
  /** The project folder's mode, e.g. 0o755 for another user to reach $RP_HOME inside it. */
  dirMode?: number;
  /** Changes $RP_HOME/config.json between `rp host init` and `rp init`. */
  hostConfig?: (config: HostConfig) => void;
}

/** A background `rp run` of a project; see `RpProject.startRun`. */
export type RpChild = ReturnType<typeof startRpRun>;

/**
 * A temporary rp project with a host of its own: `dir` holds the project, `rpHome` (its `.host`
 * folder) the host's config, ledger and history.
 */
export interface RpProject {
  dir: string;
  rpHome: string;
  /** The environment that points rp at `rpHome`. */
  env: Record<string, string>;
  /** Runs the built CLI in the project; `env` is laid over the project's. */
  rp(
    args: string[],
    options?: { env?: Record<string, string>; asUser?: string },
  ): Promise<RpResult>;
  ledger(): Promise<Ledger>;
  /** Every line of the history, oldest first (none before the first job ends). */
  history(): Promise<HistoryRecord[]>;
  /** `.rp/info.json`, as `rp init` wrote it. */
  info(): Promise<{ name: string; username: string }>;
  /** The ids of every container of the project, or of one of its jobs. */
  jobContainers(jobId?: string): Promise<string[]>;
  /** Writes a bash script into the project, executable unless told otherwise. */
  script(name: string, body: string, options?: { executable?: boolean }): Promise<void>;
  /** Appends a line to the project's docker/bashhook.sh. */
  appendToHook(line: string): Promise<void>;
  /** `rp run` in the background, as a user would start it in another terminal. */
  startRun(args: string[]): RpChild;
  /** SIGKILLs the background runs still going, then removes the project's containers. */
  stopJobs(): Promise<void>;
  removeContainers(): Promise<void>;
  /** Stops every job, removes the project's images and deletes the folder. */
  cleanup(): Promise<void>;
}

function startRpRun(args: string[], cwd: string, env: Record<string, string>) {
  return execa(process.execPath, [RP_BIN, 'run', ...args], {
    cwd,
    env: { NO_COLOR: '1', ...env },
    reject: false,
    stdin: 'ignore',
  });
}

/** Reads the history of the host at `rpHome`: every month's file, in the order appended. */
export async function readHistory(rpHome: string): Promise<HistoryRecord[]> {
  return (await readHistoryFiles(ledgerPaths(rpHome).history)).records;
}

/** Rewrites the config of the host at `rpHome` through `edit`. */
export async function editHostConfig(
  rpHome: string,
  edit: (config: HostConfig) => void,
): Promise<void> {
  const file = join(rpHome, 'config.json');
  const config = JSON.parse(await readFile(file, 'utf8')) as HostConfig;
  edit(config);
  await writeFile(file, JSON.stringify(config, null, 2));
}

/**
 * Makes a project in a fresh temporary folder (`prefix` starts its name) with its own host:
 * `rp host init`, then `rp init` on the base image with 1 CPU, no GPU and 0.5 GB.
 */
export async function createRpProject(
  prefix: string,
  options: RpProjectOptions = {},
): Promise<RpProject> {
  const { dir, cleanup: removeDir } = await makeTempDir(prefix);
  const rpHome = join(dir, '.host');
  const env = { RP_HOME: rpHome };
  const children: RpChild[] = [];

  const project: RpProject = {
    dir,
    rpHome,
    env,
    rp: (args, { env: extraEnv, asUser } = {}) =>
      rp(args, { cwd: dir, env: { ...env, ...extraEnv }, asUser }),
    ledger: async () => JSON.parse(await readFile(ledgerPaths(rpHome).ledger, 'utf8')) as Ledger,
    history: () => readHistory(rpHome),
    info: async () =>
      JSON.parse(await readFile(join(dir, '.rp/info.json'), 'utf8')) as {
        name: string;
        username: string;
      },
    jobContainers: async (jobId) => {
      const filters = ['--filter', `label=rp.project-path=${dir}`];
      if (jobId !== undefined) filters.push('--filter', `label=rp.job=${jobId}`);
      return (await docker(['ps', '-aq', ...filters])).stdout.split('\n').filter(Boolean);
    },
    script: async (name, body, { executable = true } = {}) => {
      await writeFile(join(dir, name), `#!/bin/bash\n${body}\n`, executable ? { mode: 0o755 } : {});
    },
    appendToHook: async (line) => {
      const file = join(dir, 'docker/bashhook.sh');
      await writeFile(file, `${await readFile(file, 'utf8')}${line}\n`);
    },
    startRun: (args) => {
      const child = startRpRun(args, dir, env);
      children.push(child);
      return child;
    },
    stopJobs: async () => {
      for (const child of children.splice(0)) {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await child;
      }
      await killSupervisors(rpHome);
      await project.removeContainers();
    },
    removeContainers: async () => {
      const leftovers = await project.jobContainers();
      if (leftovers.length > 0) await docker(['rm', '-f', ...leftovers]);
    },
    cleanup: async () => {
      await project.stopJobs();
      await removeProjectImages(dir);
      await removeDir();
    },
  };

  try {
    if (options.dirMode !== undefined) await chmod(dir, options.dirMode);
    const hostInit = await project.rp(['host', 'init']);
    expect(hostInit.exitCode, hostInit.stderr).toBe(0);
    if (options.hostConfig) await editHostConfig(rpHome, options.hostConfig);
    const init = await project.rp([
      'init',
      '--base',
      BASE_IMAGE,
      '--cpu',
      '1',
      '--gpu',
      '0',
      '--mem',
      '0.5',
    ]);
    expect(init.exitCode, init.stderr).toBe(0);
  } catch (error) {
    await project.cleanup();
    throw error;
  }
  return project;
}

/**
 * Resolves with the match once `pattern` appears on the child's `stream` (stdout unless told);
 * fails after `timeoutMs`, or if the child exits first.
 */
/** What waitForOutput reads: any child process run by execa with its output piped. */
export interface WatchedChild extends PromiseLike<{ exitCode?: number; stderr?: unknown }> {
  stdout: NodeJS.ReadableStream | null;
  stderr: NodeJS.ReadableStream | null;
}

export async function waitForOutput(
  child: WatchedChild,
  pattern: RegExp,
  {
    stream = 'stdout',
    timeoutMs = 60_000,
  }: { stream?: 'stdout' | 'stderr'; timeoutMs?: number } = {},
): Promise<RegExpExecArray> {
  let seen = '';
  const output = child[stream];
  if (!output) throw new Error(`waitForOutput needs the child's ${stream} piped`);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern} on ${stream}; saw: ${seen}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer): void => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        output.off('data', onData);
        resolve(match);
      }
    };
    output.on('data', onData);
    void child.then((result) => {
      clearTimeout(timer);
      reject(
        new Error(
          `the process exited (${result.exitCode}) before printing ${pattern} on ${stream}; saw: ${seen}; stderr: ${result.stderr}`,
        ),
      );
    });
  });
}

/**
 * Calls `probe` every 200 ms until it returns something other than undefined, and returns that;
 * fails after `timeoutMs`, saying what it waited for (`what` is read then).
 */
export async function until<T>(
  what: string | (() => string),
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The job id an `rp run` prints on stderr once it is queued. */
export async function jobIdOf(child: WatchedChild, timeoutMs = 60_000): Promise<string> {
  const match = await waitForOutput(child, /waiting to be scheduled as rp(\d{4})/, {
    stream: 'stderr',
    timeoutMs,
  });
  return match[1] as string;
}

/** `promise`, or a rejection naming `what` after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
