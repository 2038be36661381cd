/**
 * The servers a user submits to with `--on NAME`: the remotes file (`~/.config/rp/remotes.json`,
 * the user's own, never a project's) and a project's default remote (`.rp/remote.json`). Pure:
 * the schemas, validation and the changes `rp remote add|remove` make.
 */
import * as z from './zod.js';
import { ConfigError, RpError, UsageError, type RpErrorOptions } from './errors.js';
import { parseConfigFile } from './validation.js';

/** Where a remote's projects go when `rp remote add` is given no --path. */
/** The exit code when the server cannot be reached, or the connection is lost for good: ssh's own. */
export const REMOTE_UNREACHABLE = 255;

/** The server did not answer over ssh (connection refused, authentication, a link that stays down). */
export class RemoteConnectionError extends RpError {
  constructor(message: string, options: RpErrorOptions = {}) {
    super(message, REMOTE_UNREACHABLE, options);
  }
}

export const DEFAULT_REMOTE_PATH = '~/rp-remote';

/** The project file naming the remote that a bare `--on` means. */
export const PROJECT_REMOTE_FILE = '.rp/remote.json';

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const NAME_RULE = 'lowercase letters, digits, ".", "_" and "-", starting with a letter or digit';

/**
 * An ssh destination: `host`, `user@host`, or an alias of ~/.ssh/config. Never starting with "-"
 * (it would be read as an option of ssh) and without spaces, quotes or shell characters.
 */
const TARGET = /^(?:[A-Za-z0-9._+-]+@)?[A-Za-z0-9_][A-Za-z0-9._:%-]*$/;

/** A folder on the server: `~/…`, `~user/…` or absolute, without characters a shell would read. */
const REMOTE_PATH = /^(?:~(?:[a-z_][a-z0-9_-]*)?(?:\/[^\0\n]*)?|\/[^\0\n]*)$/;

export const remoteSchema = z
  .object({
    target: z
      .string()
      .regex(TARGET, 'not an ssh destination')
      .describe('an ssh destination: host, user@host or a ~/.ssh/config alias'),
    path: z
      .string()
      .regex(REMOTE_PATH, 'not a folder on the server')
      .describe('the folder on the server that holds the projects, e.g. "~/rp-remote"'),
    port: z
      .number()
      .int()
      .min(1)
      .max(65535)
      .optional()
      .describe('the ssh port (left out: 22, or the Port of ~/.ssh/config)'),
    rp: z
      .string()
      .regex(/^[^\0\n]+$/)
      .optional()
      .describe('how rp is run on the server (left out: "rp" on the PATH)'),
  })
  .strict();

export type Remote = z.output<typeof remoteSchema>;

export const remotesFileSchema = z
  .object({
    version: z.literal(1).describe('1'),
    remotes: z.record(z.string().regex(NAME, NAME_RULE), remoteSchema),
  })
  .strict();

export type RemotesFile = z.output<typeof remotesFileSchema>;

export const EMPTY_REMOTES: RemotesFile = { version: 1, remotes: {} };

export function parseRemotesFile(text: string, file: string): RemotesFile {
  return parseConfigFile(
    text,
    file,
    remotesFileSchema,
    `fix ${file}, or remove it and run "rp remote add" again`,
  );
}

export const projectRemoteSchema = z
  .object({
    remote: z.string().regex(NAME, NAME_RULE).describe('the name of a remote of "rp remote list"'),
  })
  .strict();

export function parseProjectRemote(text: string, file: string): string {
  return parseConfigFile(
    text,
    file,
    projectRemoteSchema,
    'write {"remote": "NAME"} with a NAME that "rp remote list" shows',
  ).remote;
}

export interface RemoteInput {
  name: string;
  target: string;
  path?: string;
  port?: number;
  rp?: string;
}

/** The remotes file with `input` added; a name already there is refused unless `replace`. */
export function addRemote(file: RemotesFile, input: RemoteInput, replace: boolean): RemotesFile {
  if (!NAME.test(input.name)) {
    throw new UsageError(`"${input.name}" is not a remote name`, { hint: `use ${NAME_RULE}` });
  }
  if (!TARGET.test(input.target)) {
    throw new UsageError(`"${input.target}" is not an ssh destination`, {
      hint: 'give host, user@host or a Host alias of ~/.ssh/config (no spaces, not starting with "-")',
    });
  }
  const path = input.path ?? DEFAULT_REMOTE_PATH;
  if (!REMOTE_PATH.test(path) || path.includes('/../') || path.endsWith('/..')) {
    throw new UsageError(`--path ${path}: not a folder on the server`, {
      hint: 'give an absolute path or one under ~, e.g. --path "~/rp-remote"',
    });
  }
  if (file.remotes[input.name] && !replace) {
    throw new ConfigError(`there is already a remote named ${input.name}`, {
      hint: `remove it first ("rp remote remove ${input.name}") or add it again with --force`,
    });
  }
  const remote: Remote = { target: input.target, path: path.replace(/\/+$/, '') || '/' };
  if (input.port !== undefined) remote.port = input.port;
  if (input.rp !== undefined) remote.rp = input.rp;
  return { ...file, remotes: { ...file.remotes, [input.name]: remote } };
}

export function removeRemote(file: RemotesFile, name: string, where: string): RemotesFile {
  if (!file.remotes[name]) throw unknownRemote(file, name, where);
  const remotes = { ...file.remotes };
  delete remotes[name];
  return { ...file, remotes };
}

export function findRemote(file: RemotesFile, name: string, where: string): Remote {
  const remote = file.remotes[name];
  if (!remote) throw unknownRemote(file, name, where);
  return remote;
}

function unknownRemote(file: RemotesFile, name: string, where: string): ConfigError {
  const known = Object.keys(file.remotes).sort();
  return new ConfigError(`there is no remote named ${name} in ${where}`, {
    hint:
      known.length > 0
        ? `known remotes: ${known.join(', ')}; add one with "rp remote add ${name} USER@HOST"`
        : `add it with "rp remote add ${name} USER@HOST"`,
  });
}

export interface RemoteListing {
  name: string;
  target: string;
  path: string;
  port: number | null;
  rp: string;
}

export function listRemotes(file: RemotesFile): RemoteListing[] {
  return Object.entries(file.remotes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, remote]) => ({
      name,
      target: remote.target,
      path: remote.path,
      port: remote.port ?? null,
      rp: remote.rp ?? 'rp',
    }));
}
