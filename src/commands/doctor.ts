import { Flags } from '@oclif/core';
import { BaseCommand } from '../cli/base-command.js';
import { doctorExitCode } from '../core/doctor.js';
import { connectDocker } from '../docker/engine.js';
import { systemClock } from '../host/clock.js';
import { runDoctor } from '../services/doctor.js';
import { rpHomeFromEnv } from '../services/host-files.js';
import { renderDoctor } from '../ui/doctor.js';

export class Doctor extends BaseCommand {
  static override description =
    'Check this installation: Docker reachable and which engine; a real GPU in a test container (when GPUs exist); $RP_HOME ownership and modes; the ledger readable and valid; a stale lock; containers with rp labels and no ledger entry, and the reverse; the clocks; free disk for images and logs; the stored inventory against the machine. Each check prints ok, warn or FAIL and what to do. Exits 0 only when nothing fails (3 otherwise).';

  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --json'];

  static override flags = {
    json: Flags.boolean({
      description: 'print {ok, checks: [{id, status, detail, hint}]} as JSON',
      default: false,
    }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Doctor);
    const checks = await runDoctor({
      rpHome: rpHomeFromEnv(process.env),
      engine: await connectDocker(),
      endpoint: process.env.DOCKER_HOST || 'unix:///var/run/docker.sock',
      cwd: process.cwd(),
      now: () => systemClock.now(),
    });
    const code = doctorExitCode(checks);
    if (flags.json) this.log(JSON.stringify({ ok: code === 0, checks }, null, 2));
    else for (const line of renderDoctor(checks)) this.log(line);
    this.setExitCode(code);
  }
}
