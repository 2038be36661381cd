import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertChromiumForCi, CHROMIUM, skipWithoutChromium } from '../support/chromium.js';
import { assertDockerForCi, skipWithoutDocker } from '../support/docker.js';
import {
  FAKE_GPUS,
  installFakeNvidiaSmi,
  setFakeGpuProcesses,
} from '../support/fake-nvidia-smi.js';
import { createRpProject, until, type RpProject } from '../support/rp-project.js';
import { api, startServer, type RunningServer } from '../support/serve.js';
import { runningAsRoot } from '../support/unix-user.js';

/** Screenshots land here (gitignored); CI keeps the folder as an artifact. */
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

/** How long the page may take to show a change: it polls every 2 s. */
const PAGE_MS = 60_000;

/**
 * The dashboard in a real headless browser (Debian's chromium) against a real `rp serve` and real
 * jobs: it shows a running job and the queue, and follows a job's end without a reload.
 */
describe.skipIf(skipWithoutDocker || skipWithoutChromium || !runningAsRoot)(
  'rp serve: the dashboard in chromium',
  () => {
    let project: RpProject;
    let server: RunningServer;
    let browser: Browser;
    let token: string;

    beforeAll(async () => {
      assertDockerForCi();
      assertChromiumForCi();
      project = await createRpProject('rp-dashboard-', {
        hostConfig: (config) => {
          config.capacity.cpus = 2;
        },
      });
      // Two GPUs as a stand-in nvidia-smi reports them, GPU 1 used by a process outside rp
      const bin = join(project.dir, '.bin');
      project.env.PATH = await installFakeNvidiaSmi(bin, { gpus: FAKE_GPUS });
      await setFakeGpuProcesses(bin, [
        {
          gpuUuid: (FAKE_GPUS[1] as (typeof FAKE_GPUS)[0]).uuid,
          pid: process.pid,
          usedMemoryMb: 1536,
        },
      ]);
      const refresh = await project.rp(['host', 'refresh']);
      expect(refresh.exitCode, refresh.stderr).toBe(0);
      await project.script('hold.sh', 'echo started\nsleep 300');
      await project.script('hello.sh', 'echo hello');
      const build = await project.rp(['build', '--quiet']);
      expect(build.exitCode, build.stderr).toBe(0);
      const made = await project.rp(['token', 'create', '--json', '--name', 'browser']);
      expect(made.exitCode, made.stderr).toBe(0);
      token = (JSON.parse(made.stdout) as { token: string }).token;
      server = await startServer({ cwd: project.dir, env: project.env });
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      await mkdir(ARTIFACTS, { recursive: true });
    });

    afterAll(async () => {
      await browser?.close();
      await server?.stop();
      await project?.cleanup();
    });

    async function submit(body: Record<string, unknown>): Promise<string> {
      const answer = await api<{ id: string }>(server, token, '/api/v1/jobs', {
        method: 'POST',
        body: { project: project.dir, ...body },
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(201);
      return answer.body.id;
    }

    async function jobState(id: string): Promise<string> {
      return (await api<{ state: string }>(server, token, `/api/v1/jobs/${id}`)).body.state;
    }

    it('Given a running job and a waiting one, it shows both, then the end of the first', async () => {
      // Given a job holding both cores, one waiting behind it, a booking and a finished job
      const finished = await submit({ script: 'hello.sh' });
      await until(`job ${finished} to end`, async () =>
        (await jobState(finished)) === 'ended' ? true : undefined,
      );
      const holder = await submit({ script: 'hold.sh', cpu: 2 });
      await until(`job ${holder} to run`, async () =>
        (await jobState(holder)) === 'running' ? true : undefined,
      );
      const waiter = await submit({ script: 'hold.sh', cpu: 1 });
      expect(await jobState(waiter)).toBe('queued');
      const booked = await api(server, token, '/api/v1/bookings', {
        method: 'POST',
        body: { start: '+3h', duration: '2h', cpu: 1 },
      });
      expect(booked.status, JSON.stringify(booked.body)).toBe(201);

      // When the dashboard is opened with the token once
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${server.url}/?token=${token}`);

      // Then it shows the running job, the queue, the booking and the usage chart
      await page.waitForSelector(`#running tr[data-job="${holder}"]`, { timeout: PAGE_MS });
      await page.waitForSelector(`#queue tr[data-job="${waiter}"]`, { timeout: PAGE_MS });
      await page.waitForSelector('#bookings rect[data-booking]', { timeout: PAGE_MS });
      await page.waitForSelector('#usage rect[data-user="root"]', { timeout: PAGE_MS });
      // and GPU 1 as used outside rp, by whom, with the process and its memory
      await page.waitForSelector('#gpus tr[data-gpu="1"]', { timeout: PAGE_MS });
      expect(await page.locator('#gpus tr[data-gpu="1"]').innerText()).toContain(
        `unmanaged: root (pid ${process.pid}, 1.5 GB)`,
      );
      expect(await page.locator('#gpus tr[data-gpu="0"]').innerText()).toContain('free');
      expect(new URL(page.url()).search).toBe('');
      await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });

      // When the running job ends (killed over the API)
      const killed = await api(server, token, `/api/v1/jobs/${holder}`, { method: 'DELETE' });
      expect(killed.status, JSON.stringify(killed.body)).toBe(200);

      // Then the page, without a reload, drops it and shows the waiting job running
      await page.waitForSelector(`#running tr[data-job="${holder}"]`, {
        state: 'detached',
        timeout: PAGE_MS,
      });
      await page.waitForSelector(`#running tr[data-job="${waiter}"]`, { timeout: PAGE_MS });
      expect(await page.locator('#queue tr[data-job]').count()).toBe(0);
      await page.screenshot({ path: `${ARTIFACTS}dashboard-after-end.png`, fullPage: true });
      expect(errors).toEqual([]);
      await api(server, token, `/api/v1/jobs/${waiter}`, { method: 'DELETE' });
    });
  },
);
