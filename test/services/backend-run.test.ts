import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runOnBackend } from '../../src/services/backend-run.js';
import { FakeBackend, fakePrepared } from '../support/fake-backend.js';

const USER = { name: 'alice', uid: 1000, gid: 1000 };

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

async function run(backend: FakeBackend, abort?: (controller: AbortController) => void) {
  const stdout = capture();
  const stderr = capture();
  const controller = new AbortController();
  const submitted: string[] = [];
  const exitCode = runOnBackend(
    backend,
    { prepared: fakePrepared(), user: USER, groups: [] },
    {
      stdout: stdout.stream,
      stderr: stderr.stream,
      signal: controller.signal,
      pollMs: 1,
      submitted: (job) => {
        submitted.push(job.id);
        abort?.(controller);
      },
    },
  );
  return { exitCode: await exitCode, stdout: stdout.text(), stderr: stderr.text(), submitted };
}

describe('rp run on a backend (fake backend)', () => {
  it("Given a job that waits, runs and exits 3, When run in the foreground, Then its output streams in order and rp exits with the script's code", async () => {
    const backend = new FakeBackend();
    backend.nextTimeline = [
      { phase: 'queued', reason: 'Resources' },
      { phase: 'running', output: 'epoch 1\n' },
      { phase: 'running', output: 'epoch 2\n' },
      { phase: 'failed', exitCode: 3, output: 'done\n' },
    ];
    const result = await run(backend);
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('epoch 1\nepoch 2\ndone\n');
    expect(result.stderr).toContain("waiting in Slurm's queue: waiting for resources");
    expect(result.stderr).toContain('running as Slurm job');
    expect(result.submitted).toHaveLength(1);
  });

  it('Given a job that completes, When run, Then rp exits 0', async () => {
    const backend = new FakeBackend();
    backend.nextTimeline = [{ phase: 'running' }, { phase: 'completed', exitCode: 0 }];
    expect((await run(backend)).exitCode).toBe(0);
  });

  it('Given a job that reaches its time limit, When run, Then rp says so and exits 124', async () => {
    const backend = new FakeBackend();
    backend.nextTimeline = [{ phase: 'running' }, { phase: 'timeout', exitCode: 143 }];
    const result = await run(backend);
    expect(result.exitCode).toBe(124);
    expect(result.stderr).toContain('reached its time limit');
  });

  it('Given a job killed for memory without an exit code, When run, Then rp exits 137', async () => {
    const backend = new FakeBackend();
    backend.nextTimeline = [{ phase: 'running' }, { phase: 'out-of-memory' }];
    expect((await run(backend)).exitCode).toBe(137);
  });

  it('Given a running job, When rp is interrupted (Ctrl+C), Then the job is cancelled, rp waits for its end and exits 130', async () => {
    const backend = new FakeBackend();
    backend.nextTimeline = [{ phase: 'running' }, { phase: 'running' }, { phase: 'running' }];
    const result = await run(backend, (controller) => controller.abort('SIGINT'));
    expect(backend.cancels).toEqual([{ id: result.submitted[0] }]);
    expect(result.exitCode).toBe(130);
  });
});
