/**
 * The one place rp talks to another machine: ssh and rsync, started through exec.ts. Every ssh of
 * one remote shares one connection (ControlMaster=auto, ControlPersist): the first opens it in the
 * background, the others reuse it, so a remote run costs one handshake. The control socket lives in
 * a folder only this user can enter. Programs are started in their own process group, so Ctrl+C
 * at the terminal reaches rp alone, which then decides what to stop on the server.
 */
import { lstat, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createDebug from 'debug';
import { ConfigError } from '../core/errors.js';
import { rsyncShell, sshOptions, SSH_FAILED, type SshOptions } from '../core/remote-command.js';
import { RemoteConnectionError, type Remote } from '../core/remotes.js';
import {
  ProgramNotFoundError,
  startProgram,
  type ProgramExit,
  type RunningProgram,
  type StartOptions,
} from './exec.js';

const debug = createDebug('rp:ssh');

/** How long the shared connection stays up after rp's last use of it. */
const PERSIST_SECONDS = 120;

/**
 * The folder of the control sockets: $RP_SSH_CONTROL_DIR, else $XDG_RUNTIME_DIR/rp-ssh, else
 * <tmp>/rp-ssh-<uid>. Made 0700; refused when someone else owns it or may enter it, since whoever
 * can reach the socket can run commands on the server as this user.
 */
export async function controlDirectory(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const uid = process.getuid?.() ?? 0;
  const dir =
    env.RP_SSH_CONTROL_DIR ??
    (env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'rp-ssh') : join(tmpdir(), `rp-ssh-${uid}`));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const stats = await lstat(dir);
  if (!stats.isDirectory() || stats.uid !== uid || (stats.mode & 0o077) !== 0) {
    throw new ConfigError(
      `${dir} (rp's ssh control sockets) must be a folder of yours with mode 700`,
      {
        hint: `remove it, or set RP_SSH_CONTROL_DIR to a private folder`,
      },
    );
  }
  return dir;
}

export interface RemoteShellOptions {
  /** The remote's name, for messages. */
  name: string;
  remote: Remote;
  controlDir: string;
  /** An ssh config file to read instead of ~/.ssh/config (RP_SSH_CONFIG). */
  configFile?: string;
}

export interface CommandOutput extends ProgramExit {
  stdout: string;
  stderr: string;
}

export class RemoteShell {
  readonly name: string;
  readonly remote: Remote;
  private readonly options: SshOptions;

  constructor(options: RemoteShellOptions) {
    this.name = options.name;
    this.remote = options.remote;
    this.options = {
      controlPath: join(options.controlDir, '%C'),
      persistSeconds: PERSIST_SECONDS,
      ...(options.configFile === undefined ? {} : { configFile: options.configFile }),
    };
  }

  /**
   * Makes sure the shared connection is up, opening it when it is not. ssh asks for a password or
   * passphrase on the terminal itself if it needs one. A failure names the remote and ssh's reason.
   */
  async connect(): Promise<void> {
    const check = await this.capture(['-O', 'check', this.remote.target], true);
    if (check.exitCode === 0) return;
    debug('opening the shared connection to %s', this.remote.target);
    // -f: into the background once logged in; -N: no command. Its messages go to a file (-E): the
    // background master keeps what it was given open, and a pipe would never end.
    const logDir = await mkdtemp(join(tmpdir(), 'rp-ssh-log-'));
    const log = join(logDir, 'ssh.log');
    try {
      const master = startProgram(
        'ssh',
        [...sshOptions(this.remote, this.options, true), '-E', log, '-f', '-N', this.remote.target],
        { stdin: 'ignore', stdout: 'ignore', stderr: 'ignore', ownGroup: true },
      );
      const exit = await this.programExit('ssh', master);
      if (exit.exitCode !== 0) {
        const reason = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').at(-1);
        throw this.connectionError(reason);
      }
    } finally {
      await rm(logDir, { recursive: true, force: true });
    }
    debug('connected to %s', this.remote.target);
  }

  /** Runs `command` on the server and collects its output. */
  async run(
    command: string,
    options: { stderr?: 'pipe' | 'inherit' } = {},
  ): Promise<CommandOutput> {
    const program = this.start(command, { stderr: options.stderr ?? 'pipe' });
    const [stdout, stderr, exit] = await Promise.all([
      collect(program.stdout),
      collect(program.stderr),
      this.programExit('ssh', program),
    ]);
    return { ...exit, stdout, stderr };
  }

  /** Starts `command` on the server with its output as streams (or passed straight through). */
  start(command: string, options: Omit<StartOptions, 'ownGroup'> = {}): RunningProgram {
    debug('ssh %s: %s', this.remote.target, command);
    return startProgram('ssh', [...this.sshArgs(), this.remote.target, command], {
      stdin: 'ignore',
      ...options,
      ownGroup: true,
    });
  }

  /**
   * Runs `command` on the server with a terminal (`ssh -t`), this process's stdin, stdout and
   * stderr handed over; resolves with its exit code.
   */
  async interactive(command: string): Promise<number> {
    const program = startProgram('ssh', [...this.sshArgs(), '-t', this.remote.target, command], {
      stdin: 'inherit',
      stdout: 'inherit',
      stderr: 'inherit',
    });
    const exit = await this.programExit('ssh', program);
    return exit.exitCode ?? 128 + 1;
  }

  /** Starts rsync with `args`; its `-e` value comes from rsyncShell(). */
  rsync(args: readonly string[], options: Omit<StartOptions, 'ownGroup'> = {}): RunningProgram {
    debug('rsync %o', args);
    return startProgram('rsync', args, { stdin: 'ignore', ...options, ownGroup: true });
  }

  /** rsync's `-e`: ssh through the shared connection. */
  rsyncShell(): string {
    return rsyncShell(this.remote, this.options);
  }

  /** Waits for a program started here; a missing ssh or rsync becomes an error saying so. */
  async programExit(name: 'ssh' | 'rsync', program: RunningProgram): Promise<ProgramExit> {
    try {
      return await program.exited;
    } catch (error) {
      if (error instanceof ProgramNotFoundError) throw missingProgram(name);
      throw error;
    }
  }

  /** Whether an exit is ssh's own failure (the connection), not the remote command's. */
  static lostConnection(exit: ProgramExit): boolean {
    return exit.exitCode === SSH_FAILED || exit.signal !== null;
  }

  connectionError(reason: string | undefined): RemoteConnectionError {
    return new RemoteConnectionError(
      `cannot connect to ${this.name} (${this.remote.target}${this.remote.port ? ` port ${this.remote.port}` : ''})${reason ? `: ${reason}` : ''}`,
      { hint: `check that "ssh ${this.remote.target}" works from this terminal` },
    );
  }

  private sshArgs(): string[] {
    return sshOptions(this.remote, this.options, false);
  }

  private async capture(args: string[], quiet: boolean): Promise<CommandOutput> {
    const program = startProgram('ssh', [...this.sshArgs(), ...args], {
      stdin: 'ignore',
      ownGroup: true,
    });
    const [stdout, stderr, exit] = await Promise.all([
      collect(program.stdout),
      collect(program.stderr),
      this.programExit('ssh', program),
    ]);
    if (!quiet) debug('ssh %o: %o', args, exit);
    return { ...exit, stdout, stderr };
  }
}

export function missingProgram(name: 'ssh' | 'rsync'): ConfigError {
  const pkg = name === 'ssh' ? 'openssh-client' : 'rsync';
  return new ConfigError(
    `${name} is not installed on this machine: --on needs ssh and rsync here`,
    {
      hint: `install it (Debian/Ubuntu: apt-get install ${pkg}; macOS has both)`,
    },
  );
}

async function collect(stream: NodeJS.ReadableStream | null): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}
