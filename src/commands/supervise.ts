import { BaseCommand } from '../cli/base-command.js';
import { stopSignals } from '../cli/signals.js';
import { connectDocker } from '../docker/engine.js';
import { openHostSession } from '../services/host-session.js';
import { supervise } from '../services/host-supervisor.js';

export default class Supervise extends BaseCommand {
  static override hidden = true;

  static override description =
    "Run the host's detached jobs until none is left (started by rp itself when needed).";

  async run(): Promise<void> {
    await this.parse(Supervise);
    const session = await openHostSession(await connectDocker());
    const signals = stopSignals();
    try {
      const end = await supervise({
        session,
        signal: signals.signal,
        report: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
      });
      if (end !== 'not-elected') {
        process.stderr.write(`${new Date().toISOString()} supervisor ${process.pid}: ${end}\n`);
      }
    } finally {
      signals.dispose();
    }
  }
}
