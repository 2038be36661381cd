/**
 * `rp drop ACTIVITY FILE [--host NAME]`: copies a file into an activity's drop folder, here or on
 * a server, under a temporary name (`FILE.part`, which the drain never takes) and renames it once
 * complete, so the drain never sees half a file. Checked first against the activity's rules, so a
 * refusal comes at once rather than in failed/.
 */
import { copyFile, constants, lstat, rename, stat, unlink } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { acceptsName, activitySchema, isIgnoredName, type Activity } from '../core/activities.js';
import { ConfigError, UsageError } from '../core/errors.js';
import { rsyncRemoteDir, shellQuote } from '../core/remote-command.js';
import { RemoteShell } from '../host/ssh.js';
import { readActivity } from './activity-store.js';
import { openRemote, rpOnServer, type RemoteSession } from './remote-session.js';

export interface DroppedFile {
  activity: string;
  /** Where the file now waits (on the server, with --host). */
  path: string;
  host?: string;
}

export async function dropFile(options: {
  rpHome: string;
  activity: string;
  file: string;
}): Promise<DroppedFile> {
  const activity = await readActivity(options.rpHome, options.activity);
  const { source, name } = await checkDroppable(activity, options.file);
  const target = `${activity.dropDir}/${name}`;
  if (
    await lstat(target).then(
      () => true,
      () => false,
    )
  )
    throw nameTaken(name, activity.dropDir);
  const part = `${target}.part`;
  try {
    await copyFile(source, part, constants.COPYFILE_EXCL);
    await rename(part, target);
  } catch (error) {
    await unlink(part).catch(() => undefined);
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      `cannot drop ${options.file} into ${activity.dropDir}: ${code ?? (error as Error).message}`,
      code === 'EEXIST' ? { hint: `remove ${part} (an interrupted drop) and try again` } : {},
    );
  }
  return { activity: activity.name, path: target };
}

/**
 * The same on a server (`rp remote add`): the activity is read there (`rp activity show`), the
 * file sent with rsync over the shared ssh connection, then renamed there.
 */
export async function dropFileOn(options: {
  host: string;
  cwd: string;
  activity: string;
  file: string;
}): Promise<DroppedFile> {
  const session = await openRemote(options.host, options.cwd);
  const activity = await remoteActivity(session, options.activity);
  const { source, name } = await checkDroppable(activity, options.file);
  const { shell } = session;
  const target = `${activity.dropDir}/${name}`;
  const part = `${target}.part`;
  const sent = shell.rsync(
    [
      '--times',
      '-e',
      shell.rsyncShell(),
      '--',
      source,
      `${rsyncRemoteDir(shell.remote, activity.dropDir)}${name}.part`,
    ],
    { stdout: 'pipe', stderr: 'pipe' },
  );
  const exit = await shell.programExit('rsync', sent);
  if (exit.exitCode !== 0) {
    if (RemoteShell.lostConnection(exit)) throw shell.connectionError(undefined);
    throw new ConfigError(
      `rsync of ${options.file} to ${shell.name}:${part} failed (exit ${exit.exitCode})`,
      {
        hint: 'run again with DEBUG=rp:* to see the rsync command',
      },
    );
  }
  // Renamed only when the name is free, so a waiting file of the same name is never replaced.
  const quoted = { part: shellQuote(part), target: shellQuote(target) };
  const renamed = await shell.run(
    `if [ -e ${quoted.target} ] || [ -L ${quoted.target} ]; then rm -f -- ${quoted.part}; exit 17; fi; mv -- ${quoted.part} ${quoted.target}`,
  );
  if (renamed.exitCode === 17) throw nameTaken(name, `${shell.name}:${activity.dropDir}`);
  if (renamed.exitCode !== 0) {
    throw new ConfigError(`cannot rename ${part} on ${shell.name}: ${renamed.stderr.trim()}`);
  }
  return { activity: activity.name, path: target, host: shell.name };
}

async function remoteActivity(session: RemoteSession, name: string): Promise<Activity> {
  const shown = await session.shell.run(rpOnServer(session, ['activity', 'show', name, '--json']));
  if (RemoteShell.lostConnection(shown)) throw session.shell.connectionError(undefined);
  if (shown.exitCode !== 0) {
    const said = shown.stderr.trim().split('\n')[0] ?? '';
    throw new UsageError(`${session.shell.name}: ${said.replace(/^rp: /, '')}`, {
      hint: `"rp activity list" on ${session.shell.name} lists its activities`,
    });
  }
  const parsed = activitySchema.safeParse(JSON.parse(shown.stdout));
  if (!parsed.success) {
    throw new ConfigError(
      `rp on ${session.shell.name} described "${name}" in a way this rp cannot read`,
    );
  }
  return parsed.data;
}

/** The file, checked against the activity's rules: a regular file, an accepted name and size. */
async function checkDroppable(
  activity: Activity,
  file: string,
): Promise<{ source: string; name: string }> {
  const source = resolve(file);
  const stats = await stat(source).catch(() => undefined);
  if (stats === undefined || !stats.isFile()) {
    throw new UsageError(`${file} is not a file`, { hint: 'give the path of a file to drop' });
  }
  const name = basename(source);
  if (isIgnoredName(name)) {
    throw new UsageError(`"${name}" is a name the drop folder ignores (hidden or temporary)`, {
      hint: 'rename the file first',
    });
  }
  if (!acceptsName(activity.accept, name)) {
    throw new UsageError(`"${name}" does not match ${activity.accept?.join(', ')}`, {
      hint: `the activity "${activity.name}" accepts only those names`,
    });
  }
  if (activity.maxSizeBytes !== undefined && stats.size > activity.maxSizeBytes) {
    throw new UsageError(
      `${file} is larger than the activity's limit of ${activity.maxSizeBytes} bytes`,
    );
  }
  return { source, name };
}

function nameTaken(name: string, where: string): UsageError {
  return new UsageError(`a file named "${name}" is already waiting in ${where}`, {
    hint: 'wait until it is taken, or drop the file under another name',
  });
}
