/** The jobs of the API: list, one, submit, kill, and the log as Server-Sent Events. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { jobIdParams, killQuery, logsQuery, submitJobBody } from '../core/api-requests.js';
import { badRequest } from '../core/api-errors.js';
import { SSE_KEEPALIVE, sseFrame, streamStart } from '../core/sse.js';
import { followJobLog } from '../services/api-logs.js';
import { findJob, killJobAs, ownedJob, submitJobAs } from '../services/api-jobs.js';
import { hostStatus } from '../services/job-status.js';
import type { HostUser } from '../host/identity.js';
import type { HostSession } from '../services/host-session.js';

export type TypedApi = FastifyInstance<
  FastifyInstance['server'],
  FastifyRequest['raw'],
  FastifyReply['raw'],
  FastifyInstance['log'],
  ZodTypeProvider
>;

export interface RouteContext {
  session: HostSession;
  /** The request's user (401 without a valid token); see auth.ts. */
  authenticate: (request: FastifyRequest) => Promise<HostUser>;
}

/** How often an idle log stream sends a comment, so that nothing between closes it. */
const KEEPALIVE_MS = 15_000;

export function jobRoutes(api: TypedApi, { session, authenticate }: RouteContext): void {
  api.get(
    '/jobs',
    { schema: { tags: ['jobs'], summary: 'The running and queued jobs of everyone (rp ps)' } },
    async (request) => {
      await authenticate(request);
      const status = await hostStatus(session, session.clock.now());
      return { running: status.running, queue: status.queue };
    },
  );

  api.get(
    '/jobs/:id',
    { schema: { tags: ['jobs'], summary: 'One job, live or ended', params: jobIdParams } },
    async (request) => {
      await authenticate(request);
      return findJob(session, request.params.id);
    },
  );

  api.post(
    '/jobs',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Submit a job (rp run --detach) in a project folder of yours, as you',
        body: submitJobBody,
      },
    },
    async (request, reply) => {
      const user = await authenticate(request);
      const submitted = await submitJobAs(user, request.body);
      return reply.code(201).send(submitted);
    },
  );

  api.delete(
    '/jobs/:id',
    {
      schema: {
        tags: ['jobs'],
        summary: 'Kill a job of yours (rp kill [--grace N])',
        params: jobIdParams,
        querystring: killQuery,
      },
    },
    async (request) => {
      const user = await authenticate(request);
      const { grace } = request.query;
      return { killed: await killJobAs(session, user, request.params.id, grace) };
    },
  );

  api.get(
    '/jobs/:id/logs',
    {
      schema: {
        tags: ['jobs'],
        summary:
          'A job of yours: its log as Server-Sent Events from byte offset `offset` (or Last-Event-ID). Each `log` event carries text, its id the offset after it; an `end` event carries {exitCode, ending}.',
        params: jobIdParams,
        querystring: logsQuery,
      },
    },
    async (request, reply) => {
      const user = await authenticate(request);
      const lastEventId = request.headers['last-event-id'];
      const from = streamStart(
        request.query.offset,
        Array.isArray(lastEventId) ? lastEventId[0] : lastEventId,
      );
      if (from === undefined) throw badRequest('headers.last-event-id: not a byte offset');
      await ownedJob(session, user, request.params.id);
      await streamLog(request, reply, session, request.params.id, from);
    },
  );
}

async function streamLog(
  request: FastifyRequest,
  reply: FastifyReply,
  session: HostSession,
  id: string,
  from: number,
): Promise<void> {
  const abort = new AbortController();
  // The log file is looked up before the stream starts, so that its errors are plain responses.
  const started = { done: false };
  const begin = (): void => {
    if (started.done) return;
    started.done = true;
    reply.hijack();
    reply.raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    reply.raw.write(
      sseFrame({ event: 'open', id: String(from), data: JSON.stringify({ offset: from }) }),
    );
  };
  request.raw.on('close', () => abort.abort());
  const keepalive = setInterval(() => {
    if (started.done) reply.raw.write(SSE_KEEPALIVE);
  }, KEEPALIVE_MS);
  try {
    await followJobLog(session, {
      id,
      from,
      signal: abort.signal,
      sink: {
        chunk: (text, offset) => {
          begin();
          reply.raw.write(
            sseFrame({ event: 'log', id: String(offset), data: JSON.stringify({ text }) }),
          );
        },
        end: (ended) => {
          begin();
          reply.raw.write(
            sseFrame({ event: 'end', id: String(ended.offset), data: JSON.stringify(ended) }),
          );
        },
      },
      onReady: begin,
    });
  } finally {
    clearInterval(keepalive);
    if (started.done) reply.raw.end();
  }
}
