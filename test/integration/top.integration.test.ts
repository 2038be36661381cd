/**
 * `rp top` (issue 14, section 2) as a user meets it: `q` quits the live view drawn on a real
 * pseudo-terminal, and the view never waits for the ledger's lock: with another process holding
 * the lock, it still draws, and draws again when that process writes the ledger.
 */
import { execa } from 'execa';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../src/ledger/atomic-write.js';
import { DEFAULT_LOCK_SETTINGS, withFileLock } from '../../src/ledger/lock.js';
import { ledgerPaths } from '../../src/ledger/paths.js';
import { RP_BIN } from '../support/cli.js';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import {
  createRpProject,
  waitForOutput,
  withTimeout,
  type RpProject,
} from '../support/rp-project.js';
import { NO_BOOKINGS_SOON } from '../../src/ui/top.js';

describe.skipIf(skipWithoutDocker)('rp top (real engine)', () => {
  let project: RpProject;

  beforeAll(async () => {
    assertDockerForCi();
    project = await createRpProject('rp-top-');
  });

  afterAll(async () => {
    await project?.cleanup();
  });

  it('draws on a terminal and quits with q, exit 0', async () => {
    // Given rp top on a pseudo-terminal (`script` gives it one; its stdin is what the user types),
    // outside CI as a user runs it: with CI set, ink draws nothing until the end
    const top = `stty cols 120 rows 40; env -u CI -u CONTINUOUS_INTEGRATION RP_HOME=${project.rpHome} ${process.execPath} ${RP_BIN} top`;
    const session = execa('script', ['-qfec', top, '/dev/null'], {
      cwd: project.dir,
      reject: false,
      stdin: 'pipe',
    });
    try {
      // When the first frame is drawn and the user types q
      await waitForOutput(session, /rp top · .* · q quits[\s\S]*Bookings, next 24 h/);
      session.stdin?.write('q');
      // Then rp top ends at once by itself, with exit code 0
      const result = await withTimeout(session, 15_000, 'rp top to quit on q');
      expect(result.exitCode, result.stdout).toBe(0);
    } finally {
      // A failed step must not leave rp top writing into the folder the cleanup removes.
      session.kill('SIGKILL');
      await session;
    }
  });

  it('draws a new frame every --interval seconds when nothing changes (the GPU figures and times)', async () => {
    // Given rp top printing plain frames (a pipe), every second
    const watcher = execa(process.execPath, [RP_BIN, 'top', '--interval', '1'], {
      cwd: project.dir,
      env: { NO_COLOR: '1', ...project.env },
      reject: false,
      stdin: 'ignore',
    });
    try {
      // When nothing changes in the ledger, Then it still draws a second and a third frame
      await waitForOutput(watcher, /(rp top · [\s\S]*Bookings, next 24 h[\s\S]*){3}/);
    } finally {
      watcher.kill('SIGINT');
      await watcher;
    }
  });

  it('draws while another process holds the ledger lock, and redraws when it writes', async () => {
    // Given a booking made and then cancelled, and the ledger as it was while the booking stood
    const paths = ledgerPaths(project.rpHome);
    const book = await project.rp(['book', '--cpu', '1', '--start', '+2h', '--duration', '1h']);
    expect(book.exitCode, book.stderr).toBe(0);
    const bookingId = /\bb\d{4}\b/.exec(book.stdout)?.[0] ?? '';
    expect(bookingId).not.toBe('');
    const withBooking = await readFile(paths.ledger, 'utf8');
    const cancel = await project.rp(['book', '--cancel', bookingId]);
    expect(cancel.exitCode, cancel.stderr).toBe(0);
    // and rp top printing plain frames (a pipe), redrawing only on a ledger change in this test
    const watcher = execa(process.execPath, [RP_BIN, 'top', '--interval', '600'], {
      cwd: project.dir,
      env: { NO_COLOR: '1', ...project.env },
      reject: false,
      stdin: 'ignore',
    });
    try {
      await waitForOutput(watcher, new RegExp(NO_BOOKINGS_SOON.replaceAll('.', '\\.')));

      // When another process takes the lock and, still holding it, writes the ledger
      const frames = await withFileLock(
        { target: paths.ledger, lockPath: paths.lock, settings: DEFAULT_LOCK_SETTINGS },
        async () => {
          await writeFileAtomic(paths.ledger, withBooking, { mode: 0o664 });
          // Then the live view draws the new ledger while the lock is still held,
          // and a one-frame rp top draws it too
          const [redrawn, once] = await Promise.all([
            waitForOutput(watcher, new RegExp(`\\n${bookingId} `)),
            project.rp(['top', '--once']),
          ]);
          return { redrawn, once };
        },
      );
      expect(frames.redrawn[0]).toContain(bookingId);
      expect(frames.once.exitCode, frames.once.stderr).toBe(0);
      expect(frames.once.stdout).toMatch(new RegExp(`Bookings, next 24 h\\n.*\\n${bookingId} `));
    } finally {
      watcher.kill('SIGINT');
      await watcher;
    }
  });
});
