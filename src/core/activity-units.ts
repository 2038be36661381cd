/**
 * The systemd units that serve the drop folders (`rp activity install-service`): a `.path` unit
 * that starts the oneshot drain when a drop folder is not empty or a job ends (the history
 * changes: an ended job's input is settled), and a timer that starts it every minute as a fallback
 * for file systems without inotify (NFS). The service leaves the processes it started running
 * (KillMode=process): a drain may start the host supervisor, which runs the jobs it queued long
 * after the drain has returned. Pure: the units' text.
 */

export const UNIT_NAME = 'rp-activities';

export interface UnitParts {
  /** $RP_HOME of the host. */
  rpHome: string;
  /** The program and arguments that run rp (node and rp's launcher). */
  rp: readonly string[];
  dropDirs: readonly string[];
  /** The folder of the history files. */
  historyDir: string;
}

export interface Units {
  /** File name → contents. */
  [file: string]: string;
}

export function renderUnits(parts: UnitParts): Units {
  const exec = [...parts.rp, 'activity', 'drain'].map(quoteArgument).join(' ');
  const service = [
    '[Unit]',
    'Description=rp: run the jobs of files dropped into the activity folders',
    'After=docker.service',
    'Wants=docker.service',
    '',
    '[Service]',
    'Type=oneshot',
    // The drain may start the host supervisor, which must outlive it to run the queued jobs.
    'KillMode=process',
    `Environment=${quoteArgument(`RP_HOME=${parts.rpHome}`)}`,
    `ExecStart=${exec}`,
    '',
  ];
  const path = [
    '[Unit]',
    'Description=rp: watch the activity drop folders',
    '',
    '[Path]',
    ...parts.dropDirs.map((dir) => `DirectoryNotEmpty=${escapePath(dir)}`),
    `PathChanged=${escapePath(parts.historyDir)}`,
    `Unit=${UNIT_NAME}.service`,
    '',
    '[Install]',
    'WantedBy=paths.target',
    '',
  ];
  const timer = [
    '[Unit]',
    'Description=rp: drain the activity drop folders every minute (for file systems without inotify)',
    '',
    '[Timer]',
    'OnBootSec=1min',
    'OnUnitInactiveSec=1min',
    `Unit=${UNIT_NAME}.service`,
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ];
  return {
    [`${UNIT_NAME}.service`]: service.join('\n'),
    [`${UNIT_NAME}.path`]: path.join('\n'),
    [`${UNIT_NAME}.timer`]: timer.join('\n'),
  };
}

/** The commands that turn the units on, for the admin to run. */
export function enableCommands(): string[] {
  return ['systemctl daemon-reload', `systemctl enable --now ${UNIT_NAME}.path ${UNIT_NAME}.timer`];
}

/** An ExecStart= word: quoted when it holds a space, a quote or a backslash; "%" escaped. */
export function quoteArgument(word: string): string {
  const escaped = word.replace(/%/g, '%%');
  if (!/[\s"'\\]/.test(escaped)) return escaped;
  return `"${escaped.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A path in a [Path] setting: "%" escaped (systemd expands specifiers there). */
function escapePath(path: string): string {
  return path.replace(/%/g, '%%');
}
