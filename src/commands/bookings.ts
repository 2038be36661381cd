import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { connectDocker } from '../docker/engine.js';
import { systemClock } from '../host/clock.js';
import { currentUser } from '../host/identity.js';
import { listBookings } from '../services/bookings.js';
import { openHostSession } from '../services/host-session.js';
import { bookingsCsv, noBookingsLine, renderBookings } from '../ui/bookings.js';

export class Bookings extends BaseCommand {
  static override description =
    "List the upcoming and active bookings, by start: yours unless --all. A table, and below it a timeline from now to the last booking's end; --export csv writes them in the header rp book --import reads.";

  static override examples = [
    '<%= config.bin %> bookings',
    '<%= config.bin %> bookings --all',
    '<%= config.bin %> bookings --all --json',
    '<%= config.bin %> bookings --export csv > bookings.csv',
  ];

  static override flags = {
    all: Flags.boolean({ description: "everyone's bookings", default: false }),
    json: Flags.boolean({
      description: 'print an array of bookings as JSON (ISO times, MiB)',
      default: false,
      exclusive: ['export'],
    }),
    export: Flags.option({
      description: 'print them as CSV: start,end,user_id,cpus,memory,gpus (GB, local time)',
      options: ['csv'] as const,
      exclusive: ['json'],
    })(),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Bookings);
    const now = systemClock.now();
    const user = flags.all ? undefined : currentUser().name;
    // Listing reads the ledger only: it shows even when Docker does not answer.
    const session = await openHostSession(await connectDocker(), systemClock);
    const bookings = await listBookings(session, { user, now });
    if (flags.json) {
      this.log(JSON.stringify(bookings, null, 2));
      return;
    }
    if (flags.export === 'csv') {
      process.stdout.write(bookingsCsv(bookings));
      return;
    }
    if (bookings.length === 0) {
      process.stderr.write(`${noBookingsLine({ user })}\n`);
      return;
    }
    for (const line of renderBookings(bookings, now)) this.log(line);
  }
}
