import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { stopSignals } from '../cli/signals.js';
import { connectDocker } from '../docker/engine.js';
import { openHostSession } from '../services/host-session.js';
import { showTop, topSnapshot } from '../services/top.js';
import { reapQuietly } from '../services/reap-quietly.js';
import { renderTop } from '../ui/top.js';

const SIGNAL_EXIT: Record<string, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export class Top extends BaseCommand {
  static override description =
    'A live view of the host: each GPU with its job, user, memory, utilisation and processes outside rp; cores and memory in use; running jobs with time left; the queue with what each job waits for; bookings of the next 24 h. Redraws when the ledger changes and every few seconds; q quits. Without a terminal, prints a plain frame after each change.';

  static override examples = [
    '<%= config.bin %> top',
    '<%= config.bin %> top --once',
    '<%= config.bin %> top --json',
  ];

  static override flags = {
    once: Flags.boolean({ description: 'print one frame and exit', default: false }),
    json: Flags.boolean({
      description: 'print one snapshot as JSON (rp ps --json, plus at and bookings) and exit',
      default: false,
    }),
    interval: Flags.integer({
      description: 'seconds between redraws when nothing changes',
      default: 3,
      min: 1,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Top);
    // No ping: the view should show even when Docker does not answer (reaping then waits).
    const session = await openHostSession(await connectDocker());
    if (flags.once || flags.json) {
      await reapQuietly(session);
      const snapshot = await topSnapshot(session, session.clock.now());
      if (flags.json) this.log(JSON.stringify(snapshot, null, 2));
      else for (const line of renderTop(snapshot)) this.log(line);
      return;
    }
    const { signal, dispose } = stopSignals();
    const terminal =
      process.stderr.isTTY && process.stdin.isTTY
        ? { output: process.stderr, input: process.stdin }
        : undefined;
    try {
      const end = await showTop(session, {
        now: () => session.clock.now(),
        intervalMs: flags.interval * 1000,
        signal,
        print: (line) => this.log(line),
        ...(terminal === undefined ? {} : { terminal }),
      });
      // Stopped by a signal rather than q: 129, 130 or 143, as every rp command.
      if (end === 'signal') this.setExitCode(SIGNAL_EXIT[String(signal.reason)] ?? 143);
    } finally {
      dispose();
    }
  }
}
