/**
 * The start of every `--on` command: which remote, the shared ssh connection to it, and a check
 * that rp answers there and is not older than this one (one round trip, which also makes the
 * project's folder on the server when the command works on the project).
 */
import { ConfigError } from '../core/errors.js';
import {
  compareVersions,
  parseRpVersion,
  preflightCommand,
  remoteProjectPath,
  remoteRpCommand,
} from '../core/remote-command.js';
import { rpVersion } from '../host/package-info.js';
import { controlDirectory, RemoteShell } from '../host/ssh.js';
import { loadProject } from './project.js';
import { resolveRemote } from './remotes.js';

export interface RemoteSession {
  shell: RemoteShell;
  /** The version rp has on the server. */
  version: string;
}

export interface RemoteProjectSession extends RemoteSession {
  /** The project's folder here and on the server (`~/rp-remote/NAME`), and its name. */
  localRoot: string;
  remoteDir: string;
  projectName: string;
}

/** Opens `--on NAME` ('' for the project's default) without a project. */
export async function openRemote(name: string, cwd: string): Promise<RemoteSession> {
  const shell = await connectTo(name, cwd);
  return { shell, version: await checkRemoteRp(shell) };
}

/** Opens `--on NAME` for the project `cwd` is in, making its folder on the server. */
export async function openRemoteProject(name: string, cwd: string): Promise<RemoteProjectSession> {
  const project = await loadProject(cwd);
  const shell = await connectTo(name, cwd);
  const remoteDir = remoteProjectPath(shell.remote, project.info.name);
  const version = await checkRemoteRp(shell, remoteDir);
  return {
    shell,
    version,
    localRoot: project.root,
    remoteDir,
    projectName: project.info.name,
  };
}

/** The shell text running rp with `args` on the server, in the project's folder when given. */
export function rpOnServer(session: RemoteSession, args: readonly string[], dir?: string): string {
  return remoteRpCommand(session.shell.remote, args, dir === undefined ? {} : { dir });
}

async function connectTo(name: string, cwd: string): Promise<RemoteShell> {
  const resolved = await resolveRemote(name, cwd);
  const shell = new RemoteShell({
    name: resolved.name,
    remote: resolved.remote,
    controlDir: await controlDirectory(),
    ...(process.env.RP_SSH_CONFIG ? { configFile: process.env.RP_SSH_CONFIG } : {}),
  });
  await shell.connect();
  return shell;
}

async function checkRemoteRp(shell: RemoteShell, mkdir?: string): Promise<string> {
  const result = await shell.run(preflightCommand(shell.remote, mkdir));
  if (RemoteShell.lostConnection(result)) {
    throw shell.connectionError(result.stderr.trim().split('\n').at(-1));
  }
  const rp = shell.remote.rp ?? 'rp';
  if (result.exitCode === 127 || result.exitCode === 126) {
    throw new ConfigError(
      `rp is not installed on ${shell.name}, or not where ssh looks ("${rp}")`,
      {
        hint: `install rp there (node 20.19+); if it is not on the PATH of "ssh ${shell.remote.target} CMD", add the remote again with --rp /full/path/to/rp --force`,
      },
    );
  }
  const version = parseRpVersion(result.stdout);
  if (result.exitCode !== 0 || version === undefined) {
    const said = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' / ');
    throw new ConfigError(
      `"${rp} --version" failed on ${shell.name} (exit ${result.exitCode}): ${said}`,
      {
        hint:
          mkdir === undefined ? `run it there by hand to see why` : `can ${mkdir} be made there?`,
      },
    );
  }
  const local = rpVersion();
  if (compareVersions(version, local) < 0) {
    throw new ConfigError(`rp on ${shell.name} is ${version}, older than this rp (${local})`, {
      hint: `upgrade rp on ${shell.name} to ${local} or later`,
    });
  }
  return version;
}
