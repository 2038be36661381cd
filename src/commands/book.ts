import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { optionalMemoryFlag } from '../cli/flags.js';
import { bookAction, readBookingFlags } from '../core/booking-request.js';
import { ROOT_UID } from '../core/kill.js';
import { connectDocker } from '../docker/engine.js';
import { systemClock } from '../host/clock.js';
import { currentUser, uidOf } from '../host/identity.js';
import {
  cancelBookingOf,
  importBookingFile,
  makeBooking,
  type MadeBooking,
} from '../services/bookings.js';
import { openHostSession } from '../services/host-session.js';
import { describeBooked, describeCancelled, renderObstacles } from '../ui/bookings.js';

export class Book extends BaseCommand {
  static override description =
    "Book GPUs, CPU cores and memory for a window of time, so that jobs of others started after the booking leave them free then. The host's rules (config.json bookings) say how far ahead, how long and how many. --cancel ID cancels one of yours (root: anyone's); --import FILE books every row of a CSV file, or none.";

  static override examples = [
    '<%= config.bin %> book --gpu 2 --cpu 8 --mem 64 --start "2026-12-03 09:00" --duration 4h',
    '<%= config.bin %> book --gpu-ids 0,3 --start +30m --duration 90m --json',
    '<%= config.bin %> book --cpu 16 --start now --duration 1h',
    '<%= config.bin %> book --cancel b1234',
    '<%= config.bin %> book --import bookings.csv',
  ];

  static override flags = {
    gpu: Flags.integer({ description: 'GPUs (default 0; with --gpu-ids, their number)', min: 0 }),
    cpu: Flags.integer({ description: 'CPU cores (default 0)', min: 0 }),
    mem: optionalMemoryFlag({ description: 'memory in GB (default 0)' }),
    'gpu-ids': Flags.string({ description: 'these GPUs: 0,3 or 0-3', helpValue: '<IDS>' }),
    start: Flags.string({
      description:
        'when it begins, rounded up to a whole minute: now, +30m, "2026-12-03 09:00", ISO 8601',
      helpValue: '<WHEN>',
    }),
    duration: Flags.string({
      description: 'how long, rounded up to whole minutes: 90m, 2h, 1h30m, HH:MM:SS',
      helpValue: '<TIME>',
    }),
    cancel: Flags.string({ description: 'cancel this booking (b1234)', helpValue: '<ID>' }),
    import: Flags.string({
      description: 'book the rows of this CSV file (start,end,user_id,cpus,memory,gpus)',
      helpValue: '<FILE>',
    }),
    json: Flags.boolean({ description: 'print the booking(s) as JSON', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Book);
    const action = bookAction({ ...flags, gpuIds: flags['gpu-ids'] });
    const now = systemClock.now();
    const me = currentUser();
    const caller = { name: me.name, uid: me.uid, isRoot: me.uid === ROOT_UID };
    // Bookings live in the ledger alone: nothing here asks Docker, which is not even pinged.
    const session = await openHostSession(await connectDocker(), systemClock);
    if (action.kind === 'cancel') {
      const cancelled = await cancelBookingOf(session, action.id, caller, now);
      this.log(flags.json ? JSON.stringify(cancelled, null, 2) : describeCancelled(cancelled));
      return;
    }
    if (action.kind === 'import') {
      const made = await importBookingFile(session, { file: action.file, caller, uidOf, now });
      if (flags.json)
        this.log(
          JSON.stringify(
            made.map((entry) => entry.booking),
            null,
            2,
          ),
        );
      made.forEach((entry) => this.report(entry, flags.json));
      return;
    }
    const request = readBookingFlags(
      { ...flags, gpuIds: flags['gpu-ids'] },
      { user: me.name, uid: me.uid },
      now,
    );
    const made = await makeBooking(session, request, { now });
    if (flags.json) this.log(JSON.stringify(made.booking, null, 2));
    this.report(made, flags.json);
  }

  /** The booking on stdout for people (JSON is printed whole by the caller); warnings on stderr. */
  private report(made: MadeBooking, json: boolean): void {
    if (!json) this.log(describeBooked(made.booking));
    for (const line of renderObstacles(made.booking, made.obstacles)) {
      process.stderr.write(`${line}\n`);
    }
  }
}
