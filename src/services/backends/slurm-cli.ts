/**
 * The Slurm commands rp runs (sbatch, squeue, sacct, scancel), on this machine or through ssh on
 * a login node, always through src/host/exec.ts. A missing command or a refusal becomes an error
 * that names the command, shows Slurm's own words and says what to do.
 */
import createDebug from 'debug';
import { join } from 'node:path';
import { ConfigError, RpError, ExitCode } from '../../core/errors.js';
import { sshOptions } from '../../core/remote-command.js';
import { RemoteConnectionError } from '../../core/remotes.js';
import { parseKillWait, shellQuote } from '../../core/slurm-job-script.js';
import {
  parseSacct,
  parseSqueue,
  sacctArguments,
  squeueArguments,
  type SlurmJobStatus,
} from '../../core/slurm-states.js';
import { ProgramNotFoundError, runProgram, type ExecResult } from '../../host/exec.js';
import { controlDirectory, RemoteShell } from '../../host/ssh.js';

const debug = createDebug('rp:slurm');

/** Slurm refused or failed a request before the job started (exit code 125, as Docker's). */
export class SlurmError extends RpError {
  constructor(message: string, options: { hint?: string } = {}) {
    super(message, ExitCode.docker, options);
  }
}

export interface SlurmCli {
  /** How the commands are reached, in words. */
  readonly via: string;
  /** Submits a batch script; returns the Slurm job id. */
  sbatch(script: string): Promise<string>;
  /** The jobs named (rp<id>), in one call. */
  squeue(names: readonly string[]): Promise<SlurmJobStatus[]>;
  /** The jobs given, in one call; undefined where the cluster keeps no accounting. */
  sacct(jobIds: readonly string[]): Promise<SlurmJobStatus[] | undefined>;
  scancel(jobIds: readonly string[]): Promise<void>;
  /** The cluster's KillWait (`scontrol show config`); undefined when it cannot be read. */
  killWaitSeconds(): Promise<number | undefined>;
}

const TIMEOUT_MS = 60_000;
/** How long the shared ssh connection to the login node stays up after rp's last command. */
const PERSIST_SECONDS = 120;

export interface SlurmCliOptions {
  /** The login node, as ssh names it; absent: the commands of this machine. */
  ssh?: string;
  /** An ssh config file to read instead of ~/.ssh/config (RP_SSH_CONFIG, as for `--on`). */
  sshConfigFile?: string;
}

export function openSlurmCli(options: SlurmCliOptions): SlurmCli {
  const via =
    options.ssh === undefined ? 'the Slurm commands on this machine' : `ssh ${options.ssh}`;

  // Every command of one rp shares one ssh connection to the login node, as `--on` does: a
  // foreground `rp run` polls squeue every second, and login nodes throttle new connections.
  let sharedArgs: Promise<string[]> | undefined;
  const sharedConnection = (login: string): Promise<string[]> =>
    (sharedArgs ??= openSharedConnection(login, options.sshConfigFile));

  async function slurm(
    command: string,
    args: readonly string[],
    input?: string,
  ): Promise<ExecResult> {
    debug('%s %s…', command, args.join(' '));
    const [program, argv] =
      options.ssh === undefined
        ? [command, args]
        : [
            'ssh',
            [
              ...(await sharedConnection(options.ssh)),
              '-o',
              'BatchMode=yes',
              options.ssh,
              '--',
              [command, ...args].map(shellQuote).join(' '),
            ],
          ];
    let result: ExecResult;
    try {
      result = await runProgram(program, argv, {
        timeoutMs: TIMEOUT_MS,
        ...(input === undefined ? {} : { input }),
      });
    } catch (error) {
      if (error instanceof ProgramNotFoundError) {
        throw new ConfigError(`${program} is not installed on this machine`, {
          hint:
            options.ssh === undefined
              ? `install Slurm's client commands (Debian: apt-get install slurm-client), or set backend.ssh in the host config to a login node that has them`
              : 'install the OpenSSH client (Debian: apt-get install openssh-client)',
        });
      }
      throw error;
    }
    if (options.ssh !== undefined && result.exitCode === 255) {
      throw new SlurmError(`ssh ${options.ssh} failed: ${result.stderr.trim()}`, {
        hint: `check that "ssh ${options.ssh}" works without a password (backend.ssh in the host config)`,
      });
    }
    if (options.ssh !== undefined && result.exitCode === 127) {
      throw new ConfigError(`${command} is not installed on ${options.ssh}`, {
        hint: 'set backend.ssh in the host config to a login node with the Slurm commands',
      });
    }
    debug('%s: exit %d', command, result.exitCode);
    return result;
  }

  return {
    via,
    async sbatch(script) {
      const result = await slurm('sbatch', ['--parsable'], script);
      if (result.exitCode !== 0) {
        throw new SlurmError(
          `sbatch refused the job: ${result.stderr.trim() || result.stdout.trim()}`,
          {
            hint: 'check --gpu/--cpu/--mem/--time against the partition (sinfo), and backend.partition/backend.account in the host config',
          },
        );
      }
      // "1234" or "1234;cluster".
      const id = result.stdout.trim().split(';')[0] ?? '';
      if (!/^\d+$/.test(id))
        throw new SlurmError(`sbatch answered "${result.stdout.trim()}", not a job id`);
      return id;
    },
    async squeue(names) {
      if (names.length === 0) return [];
      const result = await slurm('squeue', squeueArguments(names));
      if (result.exitCode !== 0) {
        throw new SlurmError(`squeue failed: ${result.stderr.trim()}`, {
          hint: 'is slurmctld running? "sinfo" should answer',
        });
      }
      return parseSqueue(result.stdout);
    },
    async sacct(jobIds) {
      if (jobIds.length === 0) return [];
      const result = await slurm('sacct', sacctArguments(jobIds));
      if (result.exitCode !== 0) {
        debug('sacct: %s', result.stderr.trim());
        return undefined;
      }
      return parseSacct(result.stdout);
    },
    async scancel(jobIds) {
      if (jobIds.length === 0) return;
      const result = await slurm('scancel', [...jobIds]);
      if (result.exitCode !== 0) {
        throw new SlurmError(`scancel failed: ${result.stderr.trim()}`);
      }
    },
    async killWaitSeconds() {
      const result = await slurm('scontrol', ['show', 'config']);
      if (result.exitCode !== 0) {
        debug('scontrol show config: %s', result.stderr.trim());
        return undefined;
      }
      return parseKillWait(result.stdout);
    },
  };
}

/**
 * Opens (or finds open) the shared connection to the login node, and returns the ssh options
 * that make a command use it. The connection stays up PERSIST_SECONDS after rp's last command, so
 * that `rp ps` after `rp ps` does not log in again either.
 */
async function openSharedConnection(login: string, configFile?: string): Promise<string[]> {
  const controlDir = await controlDirectory();
  const config = configFile === undefined ? {} : { configFile };
  // A login node is not an rp remote: it has no project folder, only the ssh side is used.
  const shell = new RemoteShell({
    name: login,
    remote: { target: login, path: '~' },
    controlDir,
    ...config,
  });
  try {
    await shell.connect();
  } catch (error) {
    if (error instanceof RemoteConnectionError) {
      throw new SlurmError(`ssh ${login} failed: ${error.message}`, {
        hint: `check that "ssh ${login}" works without a password (backend.ssh in the host config)`,
      });
    }
    throw error;
  }
  return sshOptions(
    {},
    { controlPath: join(controlDir, '%C'), persistSeconds: PERSIST_SECONDS, ...config },
    false,
  );
}
