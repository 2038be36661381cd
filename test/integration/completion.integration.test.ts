import { execa } from 'execa';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RP_BIN } from '../support/cli.js';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import { createRpProject, type RpProject } from '../support/rp-project.js';
import { runningAsRoot } from '../support/unix-user.js';

/**
 * The scripts of `rp completion` in a real bash and zsh, answering with a host's live job ids, its
 * activities and the user's remotes (real Docker engine; root, to add an activity).
 */
describe.skipIf(skipWithoutDocker || !runningAsRoot)('shell completion', () => {
  let project: RpProject;
  let env: Record<string, string>;
  let jobId: string;

  beforeAll(async () => {
    assertDockerForCi();
    // Readable by others, so that another user's answer comes from the ledger, not a refusal.
    project = await createRpProject('rp-complete-', { dirMode: 0o755 });
    await project.script('hold.sh', 'until [ -e gate ]; do sleep 0.1; done');
    const bin = join(project.dir, '.bin');
    await mkdir(bin);
    await writeFile(join(bin, 'rp'), `#!/bin/sh\nexec "${process.execPath}" "${RP_BIN}" "$@"\n`, {
      mode: 0o755,
    });
    env = {
      ...project.env,
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      RP_REMOTES_FILE: join(project.dir, '.remotes.json'),
    };
    const detached = await project.rp(['run', '--detach', '--script=hold.sh']);
    expect(detached.exitCode, detached.stderr).toBe(0);
    jobId = /rp(\d{4})/.exec(detached.stdout)?.[1] as string;
    const activity = await project.rp([
      'activity',
      'add',
      'whisper',
      '--project',
      project.dir,
      '--script',
      'hold.sh',
    ]);
    expect(activity.exitCode, activity.stderr).toBe(0);
    const remote = await project.rp(['remote', 'add', 'gpu1', 'me@gpu1.example'], { env });
    expect(remote.exitCode, remote.stderr).toBe(0);
  }, 300_000);

  afterAll(async () => {
    if (!project) return;
    await writeFile(join(project.dir, 'gate'), '');
    await project.rp(['activity', 'remove', 'whisper']);
    await project.cleanup();
  });

  /** What bash offers for the words typed after `rp`, the last one under the cursor. */
  const bash = async (...typed: string[]): Promise<string[]> => {
    const words = ['rp', ...typed].map((word) => `'${word}'`).join(' ');
    const result = await execa(
      'bash',
      [
        '-c',
        `eval "$(rp completion bash)"; COMP_WORDS=(${words}); COMP_CWORD=${typed.length}; _rp_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { env, reject: false },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    return result.stdout.split('\n').filter(Boolean);
  };

  /** The same in zsh, with compadd and _files standing in for its completion system's output. */
  const zsh = async (...typed: string[]): Promise<string[]> => {
    const words = ['rp', ...typed].map((word) => `'${word}'`).join(' ');
    const result = await execa(
      'zsh',
      [
        '-c',
        `compdef() { :; }; compadd() { shift; print -l -- "$@"; }; _files() { print -- '(files)'; }
eval "$(rp completion zsh)"; words=(${words}); CURRENT=${typed.length + 1}; _rp_complete`,
      ],
      { env, reject: false },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    return result.stdout.split('\n').filter(Boolean);
  };

  it('bash completes commands, flags, your job ids, activities and remotes', async () => {
    expect(await bash('ki')).toEqual(['kill']);
    expect(await bash('activity', 'sh')).toEqual(['show']);
    expect(await bash('kill', '--p')).toEqual(['--pid']);
    expect(await bash('kill', '')).toEqual([jobId]);
    expect(await bash('logs', '-f', jobId.slice(0, 2))).toEqual([jobId]);
    expect(await bash('activity', 'show', 'w')).toEqual(['whisper']);
    expect(await bash('run', '--on', '')).toEqual(['gpu1']);
    expect(await bash('completion', '')).toEqual(['bash', 'zsh']);
    // Nothing rp knows better: bash's own file names (complete -o default), none from rp.
    expect(await bash('drop', 'whisper', '')).toEqual([]);
  });

  it('zsh completes the same, and file names where rp has nothing to offer', async () => {
    expect(await zsh('ki')).toEqual(['kill']);
    expect(await zsh('kill', '')).toEqual([jobId]);
    expect(await zsh('drop', '')).toEqual(['whisper']);
    expect(await zsh('drop', 'whisper', '')).toEqual(['(files)']);
  });

  it("offers a user only their own jobs, never another's", async () => {
    // The stored ledger is readable by the docker group; the ids offered are the user's own.
    const nobody = await execa(
      'su',
      [
        '-s',
        '/bin/bash',
        'nobody',
        '-c',
        `RP_HOME=${project.rpHome} "${process.execPath}" "${RP_BIN}" complete -- kill ''`,
      ],
      { reject: false },
    );
    expect(nobody.stdout).toBe('');
  });
});
