/**
 * GPUs busy outside rp (issue 14, section 1), with a stand-in nvidia-smi that prints what the real
 * one prints: a process of a host user is `unmanaged`, an rp job's container process is not, and
 * a GPU job waits for the busy GPU (rp queue saying why) until it is free again.
 */
import { execa, type ResultPromise } from 'execa';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertDockerForCi, docker, skipWithoutDocker } from '../support/docker.js';
import {
  FAKE_GPUS,
  installFakeNvidiaSmi,
  setFakeGpuProcesses,
} from '../support/fake-nvidia-smi.js';
import { RP_BIN } from '../support/cli.js';
import {
  createRpProject,
  editHostConfig,
  until,
  waitForOutput,
  type RpProject,
} from '../support/rp-project.js';
import {
  createUnixUser,
  removeUnixUser,
  runningAsRoot,
  type UnixUser,
} from '../support/unix-user.js';

interface GpuJson {
  index: number;
  job: string | null;
  unmanaged: Array<{ pid: number; user: string; memoryMb: number | null }>;
}

const [GPU0, GPU1] = FAKE_GPUS as [(typeof FAKE_GPUS)[0], (typeof FAKE_GPUS)[0]];

describe.skipIf(skipWithoutDocker || !runningAsRoot)('GPUs busy outside rp (real engine)', () => {
  let project: RpProject;
  let bin: string;
  let stranger: UnixUser;
  let notebook: ResultPromise | undefined;
  let notebookPid: number | undefined;

  beforeAll(async () => {
    assertDockerForCi();
    project = await createRpProject('rp-unmanaged-');
    bin = join(project.dir, '.bin');
    project.env.PATH = await installFakeNvidiaSmi(bin, { gpus: FAKE_GPUS });
    const refresh = await project.rp(['host', 'refresh']);
    expect(refresh.exitCode, refresh.stderr).toBe(0);
    stranger = await createUnixUser('rpgpu');
    await project.script('sleep.sh', 'sleep 300');
    await project.script('true.sh', 'exit 0');
  });

  afterAll(async () => {
    if (notebookPid !== undefined) {
      try {
        process.kill(notebookPid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await notebook?.catch(() => undefined);
    await project?.cleanup();
    if (stranger !== undefined) await removeUnixUser(stranger);
  });

  it('shows a host process as unmanaged, keeps its GPU from jobs, and grants it once free', async () => {
    // Given a host user's process on GPU 0 (a notebook, say: started outside rp)
    const pidFile = join(tmpdir(), `rp-notebook-${process.pid}.pid`);
    notebook = execa(
      'runuser',
      ['-u', stranger.name, '--', 'sh', '-c', `echo $$ > ${pidFile}; exec sleep 300`],
      { reject: false },
    );
    const pid = await until('the notebook to start', async () => {
      const text = await readFile(pidFile, 'utf8').catch(() => '');
      return /^\d+\n$/.test(text) ? Number(text) : undefined;
    });
    notebookPid = pid;
    await rm(pidFile, { force: true });
    // and an rp job whose container's process uses GPU 1 (as far as nvidia-smi can tell)
    const detached = await project.rp(['run', '--detach', '--script=sleep.sh']);
    expect(detached.exitCode, detached.stderr).toBe(0);
    const jobId = /\brp(\d{4})\b/.exec(detached.stdout)?.[1] ?? '';
    const containerPid = await until('the detached job to run', async () => {
      const [container] = await project.jobContainers(jobId);
      if (container === undefined) return undefined;
      const inspect = await docker(['inspect', '-f', '{{.State.Pid}}', container]);
      const found = Number(inspect.stdout.trim());
      return found > 0 ? found : undefined;
    });
    await setFakeGpuProcesses(bin, [
      { gpuUuid: GPU0.uuid, pid, usedMemoryMb: 1536 },
      { gpuUuid: GPU1.uuid, pid: containerPid, usedMemoryMb: 900 },
    ]);

    // When rp ps looks
    const ps = await project.rp(['ps', '--json']);
    expect(ps.exitCode, ps.stderr).toBe(0);
    const gpus = (JSON.parse(ps.stdout) as { gpus: GpuJson[] }).gpus;
    // Then GPU 0 is used outside rp by that user, and the job's own process is not listed
    expect(gpus.map((gpu) => gpu.unmanaged)).toEqual([
      [{ pid, user: stranger.name, memoryMb: 1536, containerId: null }],
      [],
    ]);
    const text = await project.rp(['ps']);
    expect(text.stdout).toMatch(
      new RegExp(`GPU 0 +unmanaged: ${stranger.name} \\(pid ${pid}, 1\\.5 GB\\)`),
    );

    // Given rp top runs in a pipe (plain frames), redrawing only on change within this test
    const watcher = execa(process.execPath, [RP_BIN, 'top', '--interval', '600'], {
      cwd: project.dir,
      env: { NO_COLOR: '1', ...project.env },
      reject: false,
      stdin: 'ignore',
    });
    await waitForOutput(watcher, /Queue \(0 jobs\)/);

    // When a job asks for both GPUs
    const waiting = project.startRun(['--script=true.sh', '--gpu', '2']);
    // Then rp top prints a new frame when the ledger changes, and stops at Ctrl+C (130)
    await waitForOutput(watcher, /Queue \(1 job\)/);
    watcher.kill('SIGINT');
    expect((await watcher).exitCode).toBe(130);
    // Then it waits, and rp queue says which GPU is busy and whose process it is
    const entry = await until('the 2-GPU job to wait', async () => {
      const queue = await project.rp(['queue', '--json']);
      const [first] = (JSON.parse(queue.stdout) as { queue: Array<{ waitingFor: string }> }).queue;
      return first;
    });
    expect(entry.waitingFor).toContain(
      `GPU 0 busy outside rp (unmanaged: ${stranger.name} (pid ${pid}, 1.5 GB))`,
    );
    // and rp never touched the process
    expect(notebook.exitCode).toBeNull();

    // When a booking is made for later today and rp top draws one frame
    const book = await project.rp(['book', '--cpu', '1', '--start', '+2h', '--duration', '1h']);
    expect(book.exitCode, book.stderr).toBe(0);
    const top = await project.rp(['top', '--once']);
    // Then it shows each GPU with who uses it, the running job, what the queued job waits for,
    // and the booking
    expect(top.exitCode, top.stderr).toBe(0);
    expect(top.stdout).toMatch(
      new RegExp(
        `\\n +0 +NVIDIA H100 80GB HBM3 +- +- +0% .*unmanaged: ${stranger.name} \\(pid ${pid}`,
      ),
    );
    expect(top.stdout).toMatch(new RegExp(`Running \\(1 job\\)\\n.*\\n${jobId} +rp${jobId} `));
    expect(top.stdout).toContain('Queue (1 job)');
    expect(top.stdout).toContain(`GPU 0 busy outside rp (unmanaged: ${stranger.name}`);
    expect(top.stdout).toMatch(/Bookings, next 24 h\n.*\nb\d{4} /);
    // and --json is the same snapshot for scripts
    const snapshot = await project.rp(['top', '--json']);
    expect(snapshot.exitCode, snapshot.stderr).toBe(0);
    const parsed = JSON.parse(snapshot.stdout) as {
      gpus: GpuJson[];
      running: Array<{ id: string; leftMs: number | null }>;
      queue: Array<{ waitingFor: string }>;
      bookings: Array<{ id: string }>;
    };
    expect(parsed.gpus[0]?.unmanaged[0]?.pid).toBe(pid);
    expect(parsed.running.map((job) => job.id)).toEqual([jobId]);
    expect(parsed.queue).toHaveLength(1);
    expect(parsed.bookings).toHaveLength(1);

    // When the process ends and nvidia-smi no longer lists it
    // (killing the process itself: runuser's pipes stay open while its child lives)
    process.kill(pid, 'SIGTERM');
    await notebook;
    await setFakeGpuProcesses(bin, [{ gpuUuid: GPU1.uuid, pid: containerPid, usedMemoryMb: 900 }]);
    // Then the waiting job's next look grants it both GPUs (and, without the NVIDIA runtime on
    // this machine, its container cannot start: exit 125)
    const ended = await waiting;
    expect(ended.exitCode, String(ended.stderr)).toBe(125);
    const kill = await project.rp(['kill', jobId]);
    expect(kill.exitCode, kill.stderr).toBe(0);
  });
  it('with gpus.unmanaged "ignore", grants a GPU busy outside rp and still shows who uses it', async () => {
    // Given a host process on GPU 0 (as nvidia-smi reports it) and a host told to ignore it
    await setFakeGpuProcesses(bin, [{ gpuUuid: GPU0.uuid, pid: process.pid, usedMemoryMb: 2048 }]);
    await editHostConfig(project.rpHome, (config) => {
      config.gpus = { unmanaged: 'ignore' };
    });
    // (no stored look: under "avoid" the next GPU job would look at once and wait)
    const storedLook = join(project.rpHome, 'queue', 'gpu-processes.json');
    await rm(storedLook, { force: true });
    try {
      // When a job asks for both GPUs
      const run = await project.rp(['run', '--script=true.sh', '--gpu', '2']);
      // Then it is granted at once, GPU 0 included (and, without the NVIDIA runtime on this
      // machine, its container cannot start: exit 125, where "avoid" would have kept it queued)
      expect(run.exitCode, run.stderr).toBe(125);
      const [record] = (await project.history()).slice(-1);
      expect(record?.grant?.gpus).toEqual([0, 1]);
      // and rp ps, looking again, still names the process outside rp
      await rm(storedLook, { force: true });
      const ps = await project.rp(['ps', '--json']);
      const gpus = (JSON.parse(ps.stdout) as { gpus: GpuJson[] }).gpus;
      expect(gpus[0]?.unmanaged.map((use) => use.pid)).toEqual([process.pid]);
    } finally {
      await editHostConfig(project.rpHome, (config) => {
        delete config.gpus;
      });
      await setFakeGpuProcesses(bin, []);
    }
  });
});
