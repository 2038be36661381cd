import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { stopSignals } from '../cli/signals.js';
import { DEFAULT_LISTEN, parseListen } from '../core/listen-address.js';
import { connectDocker } from '../docker/engine.js';
import { serve } from '../server/serve.js';
import { openHostSession } from '../services/host-session.js';
import { exitCodeForSignal } from '../core/errors.js';

export default class Serve extends BaseCommand {
  static override description =
    'Serve the HTTP API (/api/v1, described at /api/v1/openapi.json) and the web dashboard (/) until stopped. Requests act as the user of their token (rp token create). Started by an admin, as root, so that it may act as every user; the CLI never needs it.';

  static override examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --listen 0.0.0.0:8470',
    '<%= config.bin %> serve --socket /run/rp.sock',
  ];

  static override flags = {
    listen: Flags.string({
      description: 'the address and port to listen on; 0.0.0.0:PORT for every interface',
      default: DEFAULT_LISTEN,
      helpValue: '<HOST:PORT>',
      exclusive: ['socket'],
    }),
    socket: Flags.string({
      description: 'listen on this Unix socket instead',
      helpValue: '<PATH>',
    }),
    'rate-limit': Flags.integer({
      description: 'requests a token (or an address without one) may make per minute; more get 429',
      default: 600,
      min: 1,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve);
    const listen =
      flags.socket === undefined ? parseListen(flags.listen) : { socket: flags.socket };
    const engine = await connectDocker();
    await engine.ping();
    const session = await openHostSession(engine);
    const stop = stopSignals();
    try {
      await serve({
        session,
        listen,
        rateLimit: flags['rate-limit'],
        rateWindowMs: 60_000,
        signal: stop.signal,
        listening: (url) => process.stderr.write(`rp serve: listening on ${url}\n`),
      });
      // Stopped by a signal, as rp top is: 130 for Ctrl+C, 143 for SIGTERM, 129 for SIGHUP.
      this.setExitCode(exitCodeForSignal(stop.signal.reason));
    } finally {
      stop.dispose();
    }
  }
}
