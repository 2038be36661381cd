/**
 * Drop-folder activities (issue 11) meeting the ways files really arrive and the host's rules:
 * rsync, sftp clients and link-then-remove uploads write under a temporary name first, and only
 * the complete file under its final name becomes a job, once; a dropped file's job is queued
 * under its owner's per-user limits like any job, and `rp queue` lists it under its activity.
 * Real engine, real non-root users, a real `rp activity watch`.
 */
import { execa, type ResultPromise } from 'execa';
import { chmod, cp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rp, RP_BIN, type RpResult } from '../support/cli.js';
import {
  assertDockerForCi,
  docker,
  removeProjectImages,
  skipWithoutDocker,
} from '../support/docker.js';
import { activityHost, activityOutput, countOf, shellAs } from '../support/activities.js';
import { editHostConfig, until, waitForOutput } from '../support/rp-project.js';
import { killSupervisors } from '../support/supervisors.js';
import { makeTempDir } from '../support/tmp.js';
import {
  createUnixUser,
  removeUnixUser,
  runningAsRoot,
  type UnixUser,
} from '../support/unix-user.js';

interface QueuedJson {
  id: string;
  user: string;
  project: string;
  activity: { name: string; input: string } | null;
  waitingFor: string;
}

const EXAMPLE = new URL('../../examples/wordcount/', import.meta.url).pathname;

/** Holds its job until the test puts `go` in the output folder, then counts the words. */
const HOLD_SCRIPT = `#!/bin/bash
echo "holding $(basename "$RP_INPUT")"
while [ ! -e "$RP_OUTPUT/go" ]; do sleep 0.2; done
wc -w < "$RP_INPUT" > "$RP_OUTPUT/words"
`;

describe.skipIf(skipWithoutDocker || !runningAsRoot)(
  'uploads and limits of drop-folder activities (real Docker)',
  () => {
    let alice: UnixUser;
    let bob: UnixUser;
    let host: { dir: string; cleanup: () => Promise<void> };
    let rpHome: string;
    let project: string;
    let watcher: ResultPromise | undefined;
    const env = (): Record<string, string> => ({ RP_HOME: rpHome });
    const asRoot = (args: string[]): Promise<RpResult> => rp(args, { cwd: host.dir, env: env() });
    const { dropDir, records, endedJob } = activityHost(() => rpHome);
    const shell = shellAs;
    const outputOf = activityOutput;
    /** The id of the job of `input` once it runs (rp ps --json). */
    const runningJob = (input: string): Promise<string> =>
      until(`the job of ${input} to run`, async () => {
        const ps = JSON.parse((await asRoot(['ps', '--json'])).stdout) as {
          running: Array<{ id: string; state: string; activity: { input: string } | null }>;
        };
        const job = ps.running.find((running) => running.activity?.input === input);
        return job?.state === 'running' ? job.id : undefined;
      });

    beforeAll(async () => {
      assertDockerForCi();
      alice = await createUnixUser('rpua');
      bob = await createUnixUser('rpub');
      host = await makeTempDir('rp-uploads-');
      await chmod(host.dir, 0o755);
      rpHome = join(host.dir, 'host');
      expect((await asRoot(['host', 'init'])).exitCode).toBe(0);
      // alice may hold one core at a time; bob has no limit of his own.
      await editHostConfig(rpHome, (config) => {
        config.limits = { default: {}, users: { [alice.name]: { cpus: 1 } } };
      });
      project = join(host.dir, 'wordcount');
      await cp(EXAMPLE, project, { recursive: true });
      // An image repository of its own: other tests' cleanups remove the example's.
      const info = join(project, '.rp', 'info.json');
      const settings = JSON.parse(await readFile(info, 'utf8')) as Record<string, unknown>;
      await writeFile(info, JSON.stringify({ ...settings, tag: 'rp/root-wordcount-uploads' }));
      await writeFile(join(project, 'hold.sh'), HOLD_SCRIPT, { mode: 0o755 });
      const add = async (name: string, args: string[]): Promise<void> => {
        const added = await asRoot(['activity', 'add', name, '--project', project, ...args]);
        expect(added.exitCode, added.stderr).toBe(0);
      };
      // Three quiet seconds make a file complete; the watch looks every second.
      await add('upload', ['--script', 'count.sh', '--accept', '*.txt', '--stable-seconds', '3']);
      await add('held', ['--script', 'hold.sh', '--cpu', '1', '--stable-seconds', '0']);
      await add('linkup', ['--script', 'count.sh', '--stable-seconds', '10']);
      watcher = execa(
        process.execPath,
        [RP_BIN, 'activity', 'watch', 'upload', 'held', '--interval', '1'],
        { cwd: host.dir, env: env(), reject: false },
      );
      // Its polls have begun: an upload's every moment is looked at.
      await waitForOutput(watcher, /watching the drop folders/, { stream: 'stderr' });
    }, 120_000);

    afterAll(async () => {
      watcher?.kill('SIGTERM');
      await watcher?.catch(() => undefined);
      if (rpHome) await killSupervisors(rpHome);
      if (project) {
        // A failed step can leave a held job's container waiting for its "go".
        const left = await docker(['ps', '-aq', '--filter', `label=rp.project-path=${project}`]);
        const ids = left.stdout.split('\n').filter(Boolean);
        if (ids.length > 0) await docker(['rm', '-f', ...ids]);
        await removeProjectImages(project);
      }
      for (const user of [alice, bob]) if (user !== undefined) await removeUnixUser(user);
      await host?.cleanup();
    });

    it('takes an rsync, sftp or browser-style upload only whole, under its final name, once', async () => {
      const drop = dropDir('upload');
      // Given uploads that write a temporary name, pause longer than the three quiet seconds that
      // make a file complete (and than the watch's poll), write the rest, and only then rename:
      // rsync (.NAME.XXXXXX), WinSCP (NAME.filepart), Firefox-style (NAME.part)
      const renamed = (temp: string, final: string): string =>
        `cd ${drop}; printf 'w1 w2 ' > ${temp}; sleep 4; printf 'w3\\n' >> ${temp}; mv ${temp} ${final}`;
      // When alice uploads them all at once
      const uploads = await Promise.all([
        shell(alice, renamed('.rsynced.txt.Qx81Za', 'rsynced.txt')),
        shell(alice, renamed('sftp.txt.filepart', 'sftp.txt')),
        shell(alice, renamed('browser.txt.part', 'browser.txt')),
      ]);
      for (const upload of uploads) expect(upload.exitCode, upload.stderr).toBe(0);

      // Then each file runs as one job, on its whole content, under its final name
      const words: Record<string, number> = {};
      for (const name of ['rsynced.txt', 'sftp.txt', 'browser.txt']) {
        const record = await endedJob('upload', name);
        expect(record, name).toMatchObject({ ending: 'exited', exitCode: 0, user: alice.name });
        const stem = name.replace(/\.txt$/, '');
        const count = await countOf(alice, 'upload', stem, record.id);
        words[name] = Number(/words (\d+)/.exec(count)?.[1]);
      }
      expect(words).toEqual({ 'rsynced.txt': 3, 'sftp.txt': 3, 'browser.txt': 3 });
      // and no temporary name ever became a job, none ran twice, nothing was refused
      const inputs = (await records('upload')).map((record) => record.activity?.input).sort();
      expect(inputs).toEqual(['browser.txt', 'rsynced.txt', 'sftp.txt']);
      expect(await readdir(join(rpHome, 'activities', 'upload', 'failed'))).toEqual([]);
      expect(await readdir(drop)).toEqual([]);
    });

    it('takes a file uploaded by linking its final name and then removing the temporary one', async () => {
      const drop = dropDir('linkup');
      // Given a drain serving the folder (it stays while a file waits to be complete), when an
      // upload links its final name and removes its temporary one 5 s later, within the
      // activity's 10 s of quiet
      const drain = asRoot(['activity', 'drain', 'linkup', '--json']);
      const upload = await shell(
        alice,
        `cd ${drop}; printf 'l1 l2 l3 l4\\n' > .linked.tmp-1; ln .linked.tmp-1 linked.txt; sleep 5; rm .linked.tmp-1`,
      );
      expect(upload.exitCode, upload.stderr).toBe(0);
      // Then the drain, which looked every second while the file had two links, refused nothing
      // and queued the file once it was complete
      const report = await drain;
      expect(report.exitCode, report.stderr).toBe(0);
      expect(JSON.parse(report.stdout)).toMatchObject({
        queued: [{ input: 'linked.txt' }],
        refused: [],
      });
      // and the job ran on the whole file
      const record = await endedJob('linkup', 'linked.txt');
      expect(record).toMatchObject({ ending: 'exited', exitCode: 0, user: alice.name });
      const count = await countOf(alice, 'linkup', 'linked', record.id);
      expect(count).toContain('words 4');
    });

    it("queues a dropped file under its owner's per-user limit, and rp queue lists it under its activity", async () => {
      const drop = dropDir('held');
      // Given alice, who may hold one core, drops two files for a one-core activity
      expect((await shell(alice, `echo a1 > ${drop}/first.txt`)).exitCode).toBe(0);
      const firstJob = await runningJob('first.txt');
      expect((await shell(alice, `echo a2 a2 > ${drop}/second.txt`)).exitCode).toBe(0);
      // When the second is queued
      const waiting = await until('alice\u2019s second job to be queued', async () => {
        const queue = JSON.parse((await asRoot(['queue', '--json'])).stdout) as {
          queue: QueuedJson[];
        };
        return queue.queue.find((job) => job.activity?.input === 'second.txt');
      });
      // Then rp queue lists it as alice's, under the activity, waiting for her limit
      expect(waiting).toMatchObject({
        user: alice.name,
        project: 'activity:held',
        activity: { name: 'held', input: 'second.txt' },
      });
      expect(waiting.waitingFor).toMatch(new RegExp(`^user limit: 1 CPU \\(${alice.name} holds 1`));
      // and rp activity status counts it among the activity's queued jobs
      const status = JSON.parse(
        (await asRoot(['activity', 'status', 'held', '--json'])).stdout,
      ) as Array<{ jobs: Array<{ id: string; state: string; input: string }> }>;
      expect(status[0]?.jobs).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ id: firstJob, state: 'running', input: 'first.txt' }),
          expect.objectContaining({ id: waiting.id, state: 'queued', input: 'second.txt' }),
        ]),
      );
      const text = await asRoot(['queue']);
      expect(text.stdout).toMatch(new RegExp(`${waiting.id} .*${alice.name} .*activity:held`));
      // and bob's file, dropped now, runs beside her first job: only alice is held back
      expect((await shell(bob, `echo b1 > ${drop}/bobs.txt`)).exitCode).toBe(0);
      const bobsJob = await runningJob('bobs.txt');
      const stillQueued = JSON.parse((await asRoot(['queue', '--json'])).stdout) as {
        queue: QueuedJson[];
      };
      expect(stillQueued.queue.map((job) => job.id)).toEqual([waiting.id]);

      // When alice's first job ends
      const go = async (user: UnixUser, stem: string, job: string): Promise<void> => {
        const touched = await shell(user, `touch ${outputOf(user, 'held', stem, job)}/go`);
        expect(touched.exitCode, touched.stderr).toBe(0);
      };
      await go(alice, 'first', firstJob);
      await go(bob, 'bobs', bobsJob);
      expect(await endedJob('held', 'first.txt')).toMatchObject({ ending: 'exited', exitCode: 0 });
      // Then her second starts, and runs to its end
      expect(await runningJob('second.txt')).toBe(waiting.id);
      await go(alice, 'second', waiting.id);
      const second = await endedJob('held', 'second.txt');
      expect(second).toMatchObject({ ending: 'exited', exitCode: 0, user: alice.name });
      const counted = await readFile(
        join(outputOf(alice, 'held', 'second', waiting.id), 'words'),
        'utf8',
      );
      expect(counted.trim()).toBe('2');
    });
  },
);
