/**
 * The command lines of `--on`: what ssh and rsync are given, and the shell text the server runs.
 * Pure, so the quoting that keeps a user's `--script="a b; c"` from ever meaning something else on
 * the server is tested without a server.
 */
import { formatBytes } from './units.js';
import type { Remote } from './remotes.js';

/** One word for a POSIX shell: single-quoted unless it is plainly safe. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A folder on the server as shell text: a leading `~` or `~user` stays unquoted so the server's
 * shell expands it; the rest is quoted.
 */
export function remotePathWords(path: string): string {
  const match = /^(~[a-z0-9_-]*)(\/.*)?$/.exec(path);
  if (!match) return shellQuote(path);
  const rest = (match[2] ?? '').replace(/^\/+/, '');
  return rest === '' ? (match[1] as string) : `${match[1]}/${shellQuote(rest)}`;
}

/** The project's folder on the server: `<remote path>/<project name>`. */
export function remoteProjectPath(remote: Pick<Remote, 'path'>, projectName: string): string {
  return `${remote.path.replace(/\/+$/, '')}/${projectName}`;
}

/**
 * The shell text the server runs: rp with `args`, in `dir` when given. `exec` so that the exit
 * code and signals are rp's own.
 */
export function remoteRpCommand(
  remote: Pick<Remote, 'rp'>,
  args: readonly string[],
  options: { dir?: string; env?: Record<string, string> } = {},
): string {
  const rp = remote.rp ?? 'rp';
  const env = Object.entries(options.env ?? {}).map(
    ([key, value]) => `${key}=${shellQuote(value)}`,
  );
  // `remote.rp` may be a command with words of its own ("node /opt/rp/bin/run.js"): not quoted.
  const run = ['exec', ...env, rp, ...args.map(shellQuote)].join(' ');
  return options.dir === undefined ? run : `cd ${remotePathWords(options.dir)} && ${run}`;
}

/** The check that comes first on every connection: which rp answers there, in one round trip. */
export function preflightCommand(remote: Pick<Remote, 'rp'>, mkdir?: string): string {
  const rp = remote.rp ?? 'rp';
  const make = mkdir === undefined ? '' : `mkdir -p ${remotePathWords(mkdir)} && `;
  // 127 from the shell means rp (or node under it) is missing; it is reported as such.
  return `${make}${rp} --version`;
}

export interface SshOptions {
  /** The control socket's path (`%C` is expanded by ssh), in a folder only this user can enter. */
  controlPath: string;
  /** How long the shared connection stays open after its last use, in seconds. */
  persistSeconds: number;
  /** An ssh config file to read instead of ~/.ssh/config (RP_SSH_CONFIG). */
  configFile?: string;
}

/**
 * The options every ssh of rp shares: one connection reused through the control socket, and
 * keep-alives so that a dead network is noticed in ~15 s rather than after TCP's minutes.
 * `master`: the command that opens the shared connection (ControlMaster=auto, ControlPersist);
 * every other command only uses it (ControlMaster=no), connecting by itself if it is gone, so no
 * step can become a background master that holds rp's pipes open.
 */
export function sshOptions(
  remote: Pick<Remote, 'port'>,
  options: SshOptions,
  master: boolean,
): string[] {
  const args: string[] = [];
  if (options.configFile !== undefined) args.push('-F', options.configFile);
  if (remote.port !== undefined) args.push('-p', String(remote.port));
  args.push(
    '-o',
    `ControlPath=${options.controlPath}`,
    '-o',
    `ControlMaster=${master ? 'auto' : 'no'}`,
    '-o',
    `ControlPersist=${options.persistSeconds}`,
    '-o',
    'ServerAliveInterval=5',
    '-o',
    'ServerAliveCountMax=3',
  );
  return args;
}

/** ssh's exit code for its own failures (connection, authentication, a dropped link). */
export const SSH_FAILED = 255;

/**
 * rsync's `-e` value: ssh with the shared options. rsync splits it into words itself and reads
 * single quotes, so a config path with spaces survives.
 */
export function rsyncShell(remote: Pick<Remote, 'port'>, options: SshOptions): string {
  return ['ssh', ...sshOptions(remote, options, false)].map(rsyncShellQuote).join(' ');
}

function rsyncShellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, '')}'`;
}

/** `target:path/` as rsync reads it; rsync's remote shell expands the leading `~`. */
export function rsyncRemoteDir(remote: Pick<Remote, 'target'>, dir: string): string {
  return `${remote.target}:${dir.replace(/\/+$/, '')}/`;
}

/** The project folders rp never sends unless --sync-output: results, caches and job logs. */
export const RESULT_FOLDERS = ['output', '.cache', '.rp/logs'] as const;

/**
 * rsync's filter rules for sending a project, in the order rsync applies them (first match wins):
 * - `.git/` never goes: the server needs the files, not their history.
 * - output/, .cache/ and .rp/logs/ do not go; with `syncOutput` they do (before .gitignore, which
 *   lists them, is read), and are then protected on the server: --delete never removes results
 *   the server made that the laptop does not have.
 * - `.gitignore` (each folder's, as git reads them) and `.rpignore` (same syntax) exclude files.
 *   Excluded files are also protected from --delete on the server.
 */
export function syncFilterRules(syncOutput: boolean): string[] {
  const rules = ['- /.git/'];
  for (const folder of RESULT_FOLDERS) {
    if (syncOutput) rules.push(`+s /${folder}/***`, `P /${folder}/***`);
    else rules.push(`- /${folder}/`);
  }
  rules.push(':- .gitignore', ':- .rpignore');
  return rules;
}

/** The rsync arguments that send `localDir` to the project's folder on the server. */
export function syncArgs(options: {
  localDir: string;
  remoteDir: string;
  shell: string;
  syncOutput: boolean;
  dryRun: boolean;
}): string[] {
  const args = ['-az', '--delete', '-e', options.shell];
  for (const rule of syncFilterRules(options.syncOutput)) args.push(`--filter=${rule}`);
  // %i: what rsync does to the item; %l: its length in bytes; %n: its name.
  if (options.dryRun) args.push('--dry-run', '--out-format=%i %l %n');
  args.push(`${options.localDir.replace(/\/+$/, '')}/`, options.remoteDir);
  return args;
}

/** The rsync arguments that bring the server's output/ (and `extra` files) into `localDir`. */
export function pullArgs(options: {
  localDir: string;
  remoteDir: string;
  shell: string;
  files: readonly string[];
}): string[] {
  // No --delete: pulling never removes anything on the laptop.
  const args = ['-az', '-e', options.shell, '--relative'];
  // `/./` marks where the path kept on the laptop starts (--relative).
  for (const file of options.files) args.push(`${options.remoteDir}./${file}`);
  args.push(`${options.localDir.replace(/\/+$/, '')}/`);
  return args;
}

export interface UploadFile {
  name: string;
  bytes: number;
}

export interface UploadPlan {
  /** Every regular file rsync would send (new or changed), largest first. */
  files: UploadFile[];
  bytes: number;
}

/** Reads a dry run's `--out-format='%i %l %n'` lines: the files it would send and their sizes. */
export function parseDryRun(output: string): UploadPlan {
  const files: UploadFile[] = [];
  for (const line of output.split('\n')) {
    // `<f+++++++++ 1234 path`: a regular file sent to the server. Folders (`cd`), links,
    // deletions (`*deleting`) and rsync's own messages are not uploads of content.
    const match = /^<f\S{9} (\d+) (.+)$/.exec(line);
    if (match) files.push({ name: match[2] as string, bytes: Number(match[1]) });
  }
  files.sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
  return { files, bytes: files.reduce((sum, file) => sum + file.bytes, 0) };
}

/** `--max-upload`: a size such as 1g, 500m, 2GiB, 1.5G or bytes. Undefined when unreadable. */
export function parseUploadLimit(text: string): number | undefined {
  const match = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?\s*$/i.exec(
    text,
  );
  if (!match) return undefined;
  const unit = (match[2] ?? 'b').toLowerCase()[0] as string;
  const factor = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit] ?? 1;
  return Math.round(Number(match[1]) * factor);
}

export const DEFAULT_MAX_UPLOAD = 1024 ** 3;

/** The largest files of a refused upload, for the error: `  3.2 GiB  data/train.bin`. */
export function largestFiles(plan: UploadPlan, count = 5): string[] {
  return plan.files
    .slice(0, count)
    .map((file) => `  ${formatBytes(file.bytes).padStart(9)}  ${file.name}`);
}

/** `rp --version`'s first word (`rp/0.1.0`) as a version, or undefined. */
export function parseRpVersion(output: string): string | undefined {
  return /(?:^|\s)rp\/(\d+\.\d+\.\d+)\b/.exec(output)?.[1];
}

/** Negative when `a` is older than `b`, as semantic versions without pre-releases compare. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i += 1) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
}

/**
 * A bare `--on` (at the end, or followed by another flag) names the project's default remote: it
 * becomes `--on=` so that oclif, which has no flags with an optional value, reads it as ''.
 */
export function bareOnAsDefault(argv: readonly string[]): string[] {
  const out: string[] = [];
  let flagsEnded = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--') flagsEnded = true;
    const next = argv[i + 1];
    if (!flagsEnded && arg === '--on' && (next === undefined || next.startsWith('-')))
      out.push('--on=');
    else out.push(arg);
  }
  return out;
}

/** The flags that belong to the laptop and are not passed on to the server's rp. */
const LAPTOP_FLAGS_WITH_VALUE = ['on', 'max-upload'];
const LAPTOP_FLAGS = ['sync-output', 'no-sync-output'];

/**
 * The user's arguments for the same command on the server: as typed (every flag of the command
 * goes through, so the server's rp validates them as it would locally), without --on, --max-upload
 * and --sync-output.
 */
export function serverArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  let flagsEnded = false;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--') flagsEnded = true;
    if (!flagsEnded) {
      const name = /^--([a-z-]+)(=.*)?$/.exec(arg);
      if (name && LAPTOP_FLAGS_WITH_VALUE.includes(name[1] as string)) {
        if (name[2] === undefined) i += 1;
        continue;
      }
      if (name && name[2] === undefined && LAPTOP_FLAGS.includes(name[1] as string)) continue;
    }
    out.push(arg);
  }
  return out;
}
