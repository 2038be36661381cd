import { chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rp } from '../support/cli.js';
import {
  assertDockerForCi,
  BASE_IMAGE,
  removeProjectImages,
  skipWithoutDocker,
} from '../support/docker.js';
import { createRpProject, until, type RpProject } from '../support/rp-project.js';
import { api, readSse, startServer, type RunningServer } from '../support/serve.js';
import {
  createUnixUser,
  removeUnixUser,
  runningAsRoot,
  type UnixUser,
} from '../support/unix-user.js';

interface ErrorBody {
  error: { code: string; message: string };
}
interface JobBody {
  id: string;
  state: string;
  ending: string | null;
  exitCode: number | null;
}

/** Requests a token may make per minute in these tests; the flood sends more. */
const RATE_LIMIT = 150;

/**
 * `rp serve` over real HTTP: a real server process (started as root, as an admin would), tokens
 * made with the CLI by root and by a second Unix user, and jobs run by the real engine.
 */
describe.skipIf(skipWithoutDocker || !runningAsRoot)('rp serve: the HTTP API', () => {
  let project: RpProject;
  let server: RunningServer;
  let user: UnixUser;
  let rootToken: string;
  let userToken: string;
  /** A project folder of the second user, with its own .rp. */
  let userProject: string;

  async function createToken(
    args: string[],
    asUser?: string,
  ): Promise<{ token: string; id: string }> {
    const result = await project.rp(['token', 'create', '--json', ...args], { asUser });
    expect(result.exitCode, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as { token: string; id: string };
  }

  async function jobState(id: string): Promise<JobBody> {
    const answer = await api<JobBody>(server, rootToken, `/api/v1/jobs/${id}`);
    expect(answer.status).toBe(200);
    return answer.body;
  }

  /** Submits one of root's project scripts through the API; fails the test unless it is accepted. */
  async function submitAsRoot(script: string): Promise<{ id: string; logFile: string }> {
    const submitted = await api<{ id: string; logFile: string }>(
      server,
      rootToken,
      '/api/v1/jobs',
      {
        method: 'POST',
        body: { project: project.dir, script },
      },
    );
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    return submitted.body;
  }

  beforeAll(async () => {
    assertDockerForCi();
    project = await createRpProject('rp-serve-', {
      // The second user reaches $RP_HOME and their project inside this folder.
      dirMode: 0o755,
      hostConfig: (config) => {
        config.capacity.cpus = 2;
      },
    });
    await project.script('hello.sh', 'echo "line 1"\necho "line 2 é"\necho "line 3"\nexit 7');
    await project.script('hold.sh', 'echo started\nsleep 120');
    await project.script(
      'tidy.sh',
      'trap "echo got TERM; sleep 1; echo cleaned up; exit 143" TERM\necho started\nwhile :; do sleep 0.2; done',
    );
    const build = await project.rp(['build', '--quiet']);
    expect(build.exitCode, build.stderr).toBe(0);
    server = await startServer({
      cwd: project.dir,
      env: project.env,
      args: ['--rate-limit', String(RATE_LIMIT)],
    });
    user = await createUnixUser('rps');
    rootToken = (await createToken(['--name', 'root-tests'])).token;
    userToken = (await createToken(['--name', 'user-tests'], user.name)).token;
    userProject = join(project.dir, 'theirs');
    await mkdir(userProject);
    await chown(userProject, user.uid, user.gid);
    const init = await rp(
      ['init', '--base', BASE_IMAGE, '--cpu', '1', '--gpu', '0', '--mem', '0.5'],
      {
        cwd: userProject,
        env: project.env,
        asUser: user.name,
      },
    );
    expect(init.exitCode, init.stderr).toBe(0);
    for (const [name, text] of [
      ['whoami.sh', '#!/bin/bash\nid -un\n'],
      ['hold.sh', '#!/bin/bash\necho started\nsleep 120\n'],
    ] as const) {
      await writeFile(join(userProject, name), text, { mode: 0o755 });
      await chown(join(userProject, name), user.uid, user.gid);
    }
  });

  afterAll(async () => {
    await server?.stop();
    if (userProject) await removeProjectImages(userProject);
    await project?.cleanup();
    if (user) await removeUnixUser(user);
  });

  it('Given a token made with rp token create, it works until it is revoked', async () => {
    // Given a new token, printed once with its id
    const made = await createToken(['--name', 'short', '--expires', '1d']);
    expect(made.token).toMatch(/^rpt_/);
    const listed = await project.rp(['token', 'list', '--json']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).not.toContain(made.token);
    expect(JSON.parse(listed.stdout)).toContainEqual(
      expect.objectContaining({ id: made.id, name: 'short', expired: false }),
    );
    // When it is used, Then the API answers
    expect((await api(server, made.token, '/api/v1/host')).status).toBe(200);

    // When it is revoked, Then it is refused
    const revoked = await project.rp(['token', 'revoke', made.id]);
    expect(revoked.exitCode, revoked.stderr).toBe(0);
    const after = await api<ErrorBody>(server, made.token, '/api/v1/host');
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('unauthorized');
  });

  it("keeps each user's token file theirs: 0600, in a folder nobody else may list", async () => {
    const list = await rp(['token', 'list', '--json'], {
      cwd: project.dir,
      env: project.env,
      asUser: user.name,
    });
    expect(list.exitCode, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toHaveLength(1);
    const dir = join(project.rpHome, 'queue', 'tokens');
    expect((await stat(dir)).mode & 0o7777).toBe(0o1733);
    const theirs = await stat(join(dir, `${user.uid}.json`));
    expect([theirs.uid, theirs.mode & 0o777]).toEqual([user.uid, 0o600]);
    const ls = await rp(['token', 'revoke', 'root-tests'], {
      cwd: project.dir,
      env: project.env,
      asUser: user.name,
    });
    expect(ls.exitCode).toBe(3);
    expect(ls.stderr).toMatch(/you have no token root-tests/);
  });

  it('answers 401 without a valid token, 400 naming the field, 404 for no such job', async () => {
    const none = await api<ErrorBody>(server, undefined, '/api/v1/jobs', {
      method: 'POST',
      body: { project: project.dir, script: 'hello.sh', cpu: 'many' },
    });
    expect(none.status).toBe(401);
    expect((await api(server, 'rpt_not-a-real-token', '/api/v1/queue')).status).toBe(401);

    const bad = await api<ErrorBody>(server, rootToken, '/api/v1/jobs', {
      method: 'POST',
      body: { project: project.dir, script: 'hello.sh', cpu: 'many' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^body\.cpu: /);
    expect(JSON.stringify(bad.body)).not.toMatch(/\bat .*\.js:\d+/);

    const missing = await api<ErrorBody>(server, rootToken, '/api/v1/jobs', {
      method: 'POST',
      body: { script: 'hello.sh' },
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toMatch(/^body\.project: /);

    expect((await api(server, rootToken, '/api/v1/jobs/9999')).status).toBe(404);
    expect((await api(server, rootToken, '/api/v1/jobs/12')).status).toBe(400);
  });

  it('submits a job, streams its log as SSE to the exit code, and resumes from an offset', async () => {
    // When root submits hello.sh in their project
    const { id } = await submitAsRoot('hello.sh');

    // Then its log streams as events whose ids are byte offsets, ending with the exit code
    const headers = { authorization: `Bearer ${rootToken}` };
    const stream = await readSse(`${server.url}/api/v1/jobs/${id}/logs`, headers);
    expect(stream.status).toBe(200);
    const logs = stream.events.filter((event) => event.event === 'log');
    const text = logs.map((event) => (JSON.parse(event.data) as { text: string }).text).join('');
    expect(text).toBe('line 1\nline 2 é\nline 3\n');
    const end = stream.events.at(-1);
    expect(end?.event).toBe('end');
    expect(JSON.parse(end?.data ?? '{}')).toMatchObject({ exitCode: 7, ending: 'exited' });
    expect(Number(logs.at(-1)?.id)).toBe(Buffer.byteLength(text));
    expect(await jobState(id)).toMatchObject({ state: 'ended', exitCode: 7 });

    // And a stream resumed from an offset (query or Last-Event-ID) sends only the rest
    const offset = Buffer.byteLength('line 1\n');
    for (const resumed of [
      await readSse(`${server.url}/api/v1/jobs/${id}/logs?offset=${offset}`, headers),
      await readSse(`${server.url}/api/v1/jobs/${id}/logs`, {
        ...headers,
        'last-event-id': String(offset),
      }),
    ]) {
      const rest = resumed.events
        .filter((event) => event.event === 'log')
        .map((event) => (JSON.parse(event.data) as { text: string }).text)
        .join('');
      expect(rest).toBe('line 2 é\nline 3\n');
    }
  });

  it("submits as the token's user, only in a folder they own", async () => {
    // Given another user's token: root's project is refused
    const refused = await api<ErrorBody>(server, userToken, '/api/v1/jobs', {
      method: 'POST',
      body: { project: project.dir, script: 'hello.sh' },
    });
    expect(refused.status).toBe(403);

    // When they submit in their own project, Then the job runs as them
    const submitted = await api<{ id: string }>(server, userToken, '/api/v1/jobs', {
      method: 'POST',
      body: { project: userProject, script: 'whoami.sh' },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const stream = await readSse(`${server.url}/api/v1/jobs/${submitted.body.id}/logs`, {
      authorization: `Bearer ${userToken}`,
    });
    const text = stream.events
      .filter((event) => event.event === 'log')
      .map((event) => (JSON.parse(event.data) as { text: string }).text)
      .join('');
    expect(text.trim().split('\n').at(-1)).toBe(user.name);
    expect(JSON.parse(stream.events.at(-1)?.data ?? '{}')).toMatchObject({ exitCode: 0 });
  }, 600_000);

  it("kills a job of one's own; another user's kill and logs are 403", async () => {
    // Given root's job running
    const { id } = await submitAsRoot('hold.sh');
    await until(`job ${id} to run`, async () =>
      (await jobState(id)).state === 'running' ? true : undefined,
    );

    // When another user asks for its log or kills it, Then 403, and it keeps running
    const theirKill = await api<ErrorBody>(server, userToken, `/api/v1/jobs/${id}`, {
      method: 'DELETE',
    });
    expect(theirKill.status).toBe(403);
    const theirLogs = await api<ErrorBody>(server, userToken, `/api/v1/jobs/${id}/logs`);
    expect(theirLogs.status).toBe(403);
    expect((await jobState(id)).state).toBe('running');

    // When its owner kills it, Then it has ended as killed
    const killed = await api<{ killed: Array<{ id: string }> }>(
      server,
      rootToken,
      `/api/v1/jobs/${id}`,
      {
        method: 'DELETE',
      },
    );
    expect(killed.status, JSON.stringify(killed.body)).toBe(200);
    expect(killed.body.killed[0]?.id).toBe(id);
    expect(await jobState(id)).toMatchObject({ state: 'ended', ending: 'killed' });
  });

  it('gives a running job the grace ?grace= says, as rp kill --grace, and refuses a grace that is not one', async () => {
    // Given a running job of root's that needs a second to clean up on SIGTERM
    const { id, logFile } = await submitAsRoot('tidy.sh');
    await until(`job ${id} to run and say so`, async () =>
      (await readFile(logFile, 'utf8').catch(() => '')).includes('started') ? true : undefined,
    );

    // When a kill asks for a negative or a fractional grace, Then 400 naming the field, and it runs on
    for (const grace of ['-1', '1.5', 'soon']) {
      const refused = await api<ErrorBody>(server, rootToken, `/api/v1/jobs/${id}?grace=${grace}`, {
        method: 'DELETE',
      });
      expect(refused.status, grace).toBe(400);
      expect(refused.body.error.message, grace).toMatch(/^query\.grace: /);
    }
    expect((await jobState(id)).state).toBe('running');

    // When it is killed with ?grace=0, Then it is SIGKILLed before its cleanup can end
    const killed = await api<{ killed: Array<{ id: string }> }>(
      server,
      rootToken,
      `/api/v1/jobs/${id}?grace=0`,
      { method: 'DELETE' },
    );
    expect(killed.status, JSON.stringify(killed.body)).toBe(200);
    expect(await jobState(id)).toMatchObject({ state: 'ended', ending: 'killed' });
    const log = await readFile(logFile, 'utf8');
    expect(log).toContain('started');
    expect(log).not.toContain('cleaned up');
  });

  it("lets a root token kill another user's job, as root may with rp kill", async () => {
    // Given the second user's job running (their image is built by the test before)
    const submitted = await api<{ id: string }>(server, userToken, '/api/v1/jobs', {
      method: 'POST',
      body: { project: userProject, script: 'hold.sh' },
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(201);
    const { id } = submitted.body;
    await until(`job ${id} to run`, async () =>
      (await jobState(id)).state === 'running' ? true : undefined,
    );
    expect((await api<{ user: string }>(server, rootToken, `/api/v1/jobs/${id}`)).body.user).toBe(
      user.name,
    );

    // When root's token kills it, Then it has ended as killed
    const killed = await api<{ killed: Array<{ id: string }> }>(
      server,
      rootToken,
      `/api/v1/jobs/${id}`,
      { method: 'DELETE' },
    );
    expect(killed.status, JSON.stringify(killed.body)).toBe(200);
    expect(killed.body.killed[0]?.id).toBe(id);
    expect(await jobState(id)).toMatchObject({ state: 'ended', ending: 'killed' });
  }, 600_000);

  it('refuses a body over 64 KiB with 413 and goes on serving', async () => {
    // When a submission carries a script argument of 70,000 characters
    const huge = await api<ErrorBody>(server, rootToken, '/api/v1/jobs', {
      method: 'POST',
      body: { project: project.dir, script: `hello.sh ${'x'.repeat(70_000)}` },
    });

    // Then it is refused as too large before anything runs, and the next request is served
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('body_too_large');
    const jobs = await api<Array<{ command?: string }>>(server, rootToken, '/api/v1/jobs');
    expect(jobs.status).toBe(200);
    expect(JSON.stringify(jobs.body)).not.toContain('xxxxxxxx');

    // And a body just under the limit is not refused for its size
    const under = await api<ErrorBody>(server, rootToken, '/api/v1/jobs', {
      method: 'POST',
      body: { project: project.dir, script: 'hello.sh', cpu: 'many', pad: 'y'.repeat(60_000) },
    });
    expect(under.status).toBe(400);
  });

  it("books, lists and cancels; cancelling another user's booking is 403", async () => {
    const made = await api<{ booking: { id: string; user: string } }>(
      server,
      rootToken,
      '/api/v1/bookings',
      {
        method: 'POST',
        body: { start: '+24h', duration: '1h', cpu: 1 },
      },
    );
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    const { id } = made.body.booking;
    const listed = await api<Array<{ id: string }>>(server, userToken, '/api/v1/bookings?all=true');
    expect(listed.body.map((booking) => booking.id)).toContain(id);
    expect(
      (await api(server, userToken, `/api/v1/bookings/${id}`, { method: 'DELETE' })).status,
    ).toBe(403);
    expect(
      (await api(server, rootToken, `/api/v1/bookings/${id}`, { method: 'DELETE' })).status,
    ).toBe(200);
    const bad = await api<ErrorBody>(server, rootToken, '/api/v1/bookings', {
      method: 'POST',
      body: { start: '+24h' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^body\.duration: /);
  });

  it('serves the report and an OpenAPI document of its routes', async () => {
    const report = await api<{ rows: unknown[]; by: string }>(server, rootToken, '/api/v1/report');
    expect(report.status).toBe(200);
    expect(report.body.by).toBe('user');
    const doc = await api<{ openapi: string; paths: Record<string, unknown> }>(
      server,
      undefined,
      '/api/v1/openapi.json',
    );
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/jobs',
        '/api/v1/jobs/{id}/logs',
        '/api/v1/bookings',
        '/api/v1/report',
      ]),
    );
  });

  it('answers a flood from one token with 429 while it keeps serving another', async () => {
    // Given a token of its own for the flood
    const flooder = (await createToken(['--name', 'flood'])).token;

    // When it sends more requests than its limit at once
    const flood = await Promise.all(
      Array.from({ length: RATE_LIMIT + 30 }, () => api(server, flooder, '/api/v1/queue')),
    );

    // Then the excess is refused with 429, and another token is still served
    const statuses = flood.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(30);
    expect(statuses.every((status) => status === 200 || status === 429)).toBe(true);
    expect((await api(server, userToken, '/api/v1/queue')).status).toBe(200);
    const limited = await api<ErrorBody>(server, flooder, '/api/v1/queue');
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
  });

  it('listens on a Unix socket too, ends 143 on SIGTERM, and exits 3 on an address in use', async () => {
    // Given a second server on a Unix socket
    const socket = join(project.dir, 'rp.sock');
    const onSocket = await startServer({
      cwd: project.dir,
      env: project.env,
      listen: ['--socket', socket],
    });
    expect(onSocket.url).toBe(`unix:${socket}`);

    // When a request comes through the socket, Then it is served as any other
    const status = await new Promise<number | undefined>((resolve, reject) => {
      get(
        {
          socketPath: socket,
          path: '/api/v1/queue',
          headers: { authorization: `Bearer ${rootToken}` },
        },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode));
        },
      ).on('error', reject);
    });
    expect(status).toBe(200);

    // When it is stopped, Then it exits as a stopped rp top does
    onSocket.child.kill('SIGTERM');
    expect((await onSocket.child).exitCode).toBe(143);

    // And a server asked to listen where the first one does exits 3, saying why
    const taken = await project.rp(['serve', '--listen', new URL(server.url).host]);
    expect(taken.exitCode).toBe(3);
    expect(taken.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+/);
  });
});
