/**
 * `rp remote add|list|remove` and finding the remote a `--on` names. The remotes live in the
 * user's own config (`$RP_REMOTES_FILE`, else `$XDG_CONFIG_HOME/rp/remotes.json`, else
 * `~/.config/rp/remotes.json`), never in a project: a project shared by several people names its
 * default remote in `.rp/remote.json`, and each person says in their own remotes how to reach it.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import {
  addRemote,
  EMPTY_REMOTES,
  findRemote,
  listRemotes,
  parseProjectRemote,
  parseRemotesFile,
  PROJECT_REMOTE_FILE,
  removeRemote,
  type Remote,
  type RemoteInput,
  type RemoteListing,
  type RemotesFile,
} from '../core/remotes.js';
import { writeFileAtomic } from '../ledger/atomic-write.js';
import { findProjectRoot } from './project.js';

export function remotesFilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RP_REMOTES_FILE) return env.RP_REMOTES_FILE;
  const config = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(config, 'rp', 'remotes.json');
}

export async function readRemotes(file: string): Promise<RemotesFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return EMPTY_REMOTES;
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`);
  }
  return parseRemotesFile(text, file);
}

async function saveRemotes(file: string, remotes: RemotesFile): Promise<void> {
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, `${JSON.stringify(remotes, null, 2)}\n`, { mode: 0o600 });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    throw new ConfigError(`cannot write ${file}: ${(error as Error).message}`, {
      hint: 'set RP_REMOTES_FILE to a file you can write',
    });
  }
}

export async function addRemoteEntry(
  file: string,
  input: RemoteInput,
  replace: boolean,
): Promise<RemoteListing> {
  const next = addRemote(await readRemotes(file), input, replace);
  await saveRemotes(file, next);
  return listRemotes(next).find((remote) => remote.name === input.name) as RemoteListing;
}

export async function removeRemoteEntry(file: string, name: string): Promise<void> {
  await saveRemotes(file, removeRemote(await readRemotes(file), name, file));
}

export async function listRemoteEntries(file: string): Promise<RemoteListing[]> {
  return listRemotes(await readRemotes(file));
}

/**
 * The remote `--on NAME` means; an empty NAME (a bare `--on`) is the project's default, named in
 * `.rp/remote.json` of the project `cwd` is in.
 */
export async function resolveRemote(
  name: string,
  cwd: string,
  file = remotesFilePath(),
): Promise<{ name: string; remote: Remote }> {
  const chosen = name === '' ? await projectDefaultRemote(cwd) : name;
  return { name: chosen, remote: findRemote(await readRemotes(file), chosen, file) };
}

async function projectDefaultRemote(cwd: string): Promise<string> {
  const root = await findProjectRoot(cwd);
  const path = join(root, PROJECT_REMOTE_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
    }
    throw new ConfigError(
      `--on without a name needs ${PROJECT_REMOTE_FILE}, and ${root} has none`,
      {
        hint: `name the remote (--on gpu1), or write {"remote": "gpu1"} to ${path}`,
      },
    );
  }
  return parseProjectRemote(text, path);
}
