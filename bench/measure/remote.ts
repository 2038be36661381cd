/**
 * 8. Remote run: `rp run --on <alias> --script=true.sh` from this machine to the real sshd of
 * scripts/ssh/start.sh on 127.0.0.1 (another user, its own RP_HOME, the same Docker engine), against
 * a local `rp run --script=true.sh` of the same project. A and B alternate and the ratio is taken
 * pair by pair. Two remote figures: with the shared ssh connection already open (any run within
 * ControlPersist of the last), and with a new connection each time (the handshake included).
 */
import { chmod, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchContext } from '../context.js';
import { figure, type SectionResult } from '../figures.js';
import { mustRun, runProcess } from '../lib/process.js';
import { rp } from '../lib/rp.js';
import { removeContainers, removeImages } from '../peers/docker.js';
import { rotation } from '../stats.js';

const SECTION = '8. Remote run';

export async function measureRemote(ctx: BenchContext): Promise<SectionResult> {
  const { sandbox } = ctx;
  const start = await runProcess('bash', [join(ctx.repo, 'scripts/ssh/start.sh')], {
    timeoutMs: 300_000,
  });
  if (start.code !== 0) {
    const reason = `the ssh server did not start: ${start.stderr.trim().slice(-200)}`;
    return { figures: [], skips: [{ section: SECTION, subject: '`rp run --on`', reason }] };
  }
  const server = Object.fromEntries(
    start.stdout.split('\n').flatMap((line) => {
      const match = /^(RP_SSH_\w+)=(.*)$/.exec(line);
      return match ? [[match[1], match[2]]] : [];
    }),
  ) as Record<string, string>;
  const remoteRoot = `rp-bench-${ctx.runId}`;
  const controlDir = join(sandbox.root, 'ssh');
  await mkdir(controlDir, { recursive: true });
  await chmod(controlDir, 0o700);
  const env = {
    RP_HOME: join(sandbox.root, 'laptop-has-no-host'),
    RP_REMOTES_FILE: join(sandbox.root, 'remotes.json'),
    RP_SSH_CONFIG: server.RP_SSH_CONFIG,
    RP_SSH_CONTROL_DIR: controlDir,
    NO_COLOR: '1',
  };
  const laptop = (args: string[]) =>
    runProcess(process.execPath, [sandbox.bin, ...args], {
      cwd: sandbox.project,
      env,
      timeoutMs: 180_000,
    });
  const closeConnection = async () => {
    for (const socket of await readdir(controlDir)) {
      await runProcess('ssh', [
        '-F',
        env.RP_SSH_CONFIG as string,
        '-S',
        join(controlDir, socket),
        '-O',
        'exit',
        'x',
      ]);
    }
  };
  const remoteProject = `${server.RP_SSH_HOME}/${remoteRoot}/${sandbox.project.split('/').pop()}`;
  try {
    await mustRun(
      process.execPath,
      [
        sandbox.bin,
        'remote',
        'add',
        'bench',
        server.RP_SSH_ALIAS as string,
        '--path',
        `~/${remoteRoot}`,
      ],
      {
        env,
      },
    );
    const pairs = ctx.quick ? 3 : 10;
    const runs = {
      local: () => rp(sandbox, ['run', '--script=true.sh'], { timeoutMs: 60_000 }),
      remote: () => laptop(['run', '--on', 'bench', '--script=true.sh']),
      remoteCold: async () => {
        await closeConnection();
        return laptop(['run', '--on', 'bench', '--script=true.sh']);
      },
    };
    const samples: Record<keyof typeof runs, number[]> = { local: [], remote: [], remoteCold: [] };
    // One warm-up of each, not counted: it builds the image on the server and opens the connection.
    for (let pair = -1; pair < pairs; pair += 1) {
      for (const key of rotation(['local', 'remote', 'remoteCold'] as const, Math.max(pair, 0))) {
        const result = await runs[key]();
        if (result.code !== 0)
          throw new Error(`${key} run exited ${result.code}: ${result.stderr.slice(-500)}`);
        if (pair >= 0) samples[key].push(result.ms);
      }
    }
    ctx.log(`remote run: ${pairs} rounds`);
    return {
      figures: [
        figure(
          SECTION,
          '`rp run --on <localhost alias> --script=true.sh`, connection open',
          'ms',
          samples.remote,
          {
            ratios: [{ against: 'local `rp run`', of: samples.remote, to: samples.local }],
          },
        ),
        figure(
          SECTION,
          '`rp run --on <localhost alias> --script=true.sh`, new connection',
          'ms',
          samples.remoteCold,
          {
            ratios: [{ against: 'local `rp run`', of: samples.remoteCold, to: samples.local }],
          },
        ),
        figure(SECTION, 'local `rp run --script=true.sh`', 'ms', samples.local),
      ],
      skips: [],
      details: { pairs, server: `${server.RP_SSH_USER}@127.0.0.1:${server.RP_SSH_PORT}` },
    };
  } finally {
    await closeConnection().catch(() => undefined);
    await removeContainers(`rp.project-path=${remoteProject}`).catch(() => undefined);
    await removeImages(`rp.project-path=${remoteProject}`).catch(() => undefined);
    await runProcess('ssh', [
      '-F',
      server.RP_SSH_CONFIG as string,
      server.RP_SSH_ALIAS as string,
      `rm -rf ~/${remoteRoot}`,
    ]);
  }
}
