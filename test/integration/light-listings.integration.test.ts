import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rp } from '../support/cli.js';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import { createRpProject } from '../support/rp-project.js';
import { makeTempDir } from '../support/tmp.js';

/** Packages a listing must not load: the Docker client (with gRPC and ssh2), and execa. */
const HEAVY = ['dockerode', 'docker-modem', '@grpc', 'protobufjs', 'ssh2', 'execa', 'tar-fs'];

function heavyAmong(loaded: readonly string[]): string[] {
  return loaded.filter((url) => HEAVY.some((name) => url.includes(`/node_modules/${name}/`)));
}

/**
 * rp's own modules a local listing or submission has no use for: the ssh and sync code of `--on`,
 * and the schemas of API tokens and drop-folder activities (each costs its construction at
 * start-up).
 */
const UNNEEDED_LOCALLY = [
  'services/remote-run.js',
  'host/ssh.js',
  'core/remotes.js',
  'core/tokens.js',
  'core/activities.js',
];

/** What only a foreground run or a backend's job uses: waiting, supervising, Slurm. */
const FOREGROUND_OR_BACKEND = [
  'services/run-job.js',
  'services/container-exit.js',
  'services/time-limit-watch.js',
  'ui/job-progress.js',
  'services/backend-submit.js',
];

function foregroundOrBackendAmong(loaded: readonly string[]): string[] {
  return loaded.filter((url) =>
    FOREGROUND_OR_BACKEND.some((path) => url.endsWith(`/dist/${path}`)),
  );
}

function unneededAmong(loaded: readonly string[]): string[] {
  return loaded.filter((url) => UNNEEDED_LOCALLY.some((path) => url.endsWith(`/dist/${path}`)));
}

/**
 * Records every module a Node process loads (ES modules and CommonJS) into $RP_TEST_MODULE_LOG:
 * only the rp process the test started (its parent is the test), not the host supervisor that a
 * detached submission starts with the same environment.
 */
const ESM_HOOKS = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (String(process.ppid) === process.env.RP_TEST_MODULE_PARENT)
    appendFileSync(process.env.RP_TEST_MODULE_LOG, url + '\\n');
  return next(url, context);
}
`;
const REGISTER = (hooks: string): string =>
  `import { register } from 'node:module';\nregister(${JSON.stringify(hooks)});\n`;
const CJS_HOOK = `const Module = require('node:module');
const { appendFileSync } = require('node:fs');
const load = Module._load;
Module._load = function (request, parent, isMain) {
  const loaded = load.apply(this, arguments);
  try {
    if (String(process.ppid) === process.env.RP_TEST_MODULE_PARENT)
      appendFileSync(process.env.RP_TEST_MODULE_LOG, Module._resolveFilename(request, parent, isMain) + '\\n');
  } catch {}
  return loaded;
};
`;

/**
 * `rp ps` and `rp queue` load no more than they need (the sweeps issue, section 3): neither the
 * Docker client nor execa, even when the listing reaps (which asks Docker for the host's job
 * containers over plain HTTP).
 */
describe.skipIf(skipWithoutDocker)('what a listing loads (real engine)', () => {
  let temp: { dir: string; cleanup: () => Promise<void> };

  beforeAll(async () => {
    assertDockerForCi();
    temp = await makeTempDir('rp-light-');
    const hooks = join(temp.dir, 'hooks.mjs');
    await writeFile(hooks, ESM_HOOKS);
    await writeFile(join(temp.dir, 'register.mjs'), REGISTER(pathToFileURL(hooks).href));
    await writeFile(join(temp.dir, 'cjs-hook.cjs'), CJS_HOOK);
  });

  afterAll(async () => {
    await temp?.cleanup();
  });

  /** Runs rp with the hooks; a fresh host of its own unless `where` names a project. */
  async function modulesLoadedBy(
    args: string[],
    where?: { cwd: string; env: Record<string, string> },
  ): Promise<string[]> {
    const name = args.join('').replace(/\W/g, '');
    let env = where?.env;
    if (env === undefined) {
      // A host of its own, fresh, so that nobody has reaped it lately and the listing reaps first
      env = { RP_HOME: join(temp.dir, `host${name}`) };
      const init = await rp(['host', 'init'], { cwd: temp.dir, env });
      expect(init.exitCode, init.stderr).toBe(0);
    }
    const log = join(temp.dir, `${name}.log`);
    await writeFile(log, '');
    const register = pathToFileURL(join(temp.dir, 'register.mjs')).href;
    const result = await rp(args, {
      cwd: where?.cwd ?? temp.dir,
      env: {
        ...env,
        RP_TEST_MODULE_LOG: log,
        RP_TEST_MODULE_PARENT: String(process.pid),
        NODE_OPTIONS: `--require ${join(temp.dir, 'cjs-hook.cjs')} --import ${register}`,
      },
    });
    expect(result.exitCode, result.stderr).toBe(0);
    return (await readFile(log, 'utf8')).split('\n').filter((line) => line !== '');
  }

  it.each(['ps', 'queue', 'ps --json'])(
    'rp %s loads neither the Docker client nor execa, reaping included, nor the remote code',
    async (line) => {
      const loaded = await modulesLoadedBy(line.split(' '));

      // Then rp's own modules were loaded (the hooks work), and no heavy package was
      expect(loaded.some((url) => url.includes('/dist/commands/'))).toBe(true);
      expect(heavyAmong(loaded)).toEqual([]);
      // Nor any of rp's modules that only --on, tokens or activities use
      expect(unneededAmong(loaded)).toEqual([]);
    },
  );

  it('rp run --detach or --array of a built project is one short process: no Docker client, execa or tar, no foreground or backend code; rp run in the foreground loads no Docker client', async () => {
    // Given a project whose image is built
    const project = await createRpProject('rp-light-run-');
    try {
      await project.script('quick.sh', 'exit 0');
      const build = await project.rp(['build', '--quiet']);
      expect(build.exitCode, build.stderr).toBe(0);

      // When a detached job is submitted
      const loaded = await modulesLoadedBy(['run', '--detach', '--script=quick.sh'], {
        cwd: project.dir,
        env: project.env,
      });

      // Then the submission loaded none of the heavy packages, nor rp's remote code, nor what
      // only a foreground run or a backend's job uses
      expect(loaded.some((url) => url.includes('/dist/commands/run.js'))).toBe(true);
      expect(heavyAmong(loaded)).toEqual([]);
      expect(unneededAmong(loaded)).toEqual([]);
      expect(foregroundOrBackendAmong(loaded)).toEqual([]);

      // And neither did an array submission
      const array = await modulesLoadedBy(['run', '--array', '0-1', '--script=quick.sh'], {
        cwd: project.dir,
        env: project.env,
      });
      expect(array.some((url) => url.includes('/dist/services/submit-array.js'))).toBe(true);
      expect(heavyAmong(array)).toEqual([]);
      expect(foregroundOrBackendAmong(array)).toEqual([]);

      // And a foreground run, which creates, attaches, starts, waits for and removes its
      // container, talks to Docker without its client too
      const foreground = await modulesLoadedBy(['run', '--script=quick.sh'], {
        cwd: project.dir,
        env: project.env,
      });
      expect(foreground.some((url) => url.includes('/dist/services/run-job.js'))).toBe(true);
      expect(foreground.some((url) => url.includes('/dist/ui/job-progress.js'))).toBe(true);
      expect(heavyAmong(foreground).filter((url) => !url.includes('/execa/'))).toEqual([]);
    } finally {
      await project.cleanup();
    }
  });
});
