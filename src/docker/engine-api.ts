/**
 * The few read-only questions most rp commands ask Docker (is it there, does this image exist,
 * which engine is it), answered with one HTTP request over the engine's socket: dockerode (with
 * its gRPC and protobuf dependencies) takes longer to load than these take to answer, and a
 * detached submission or a listing needs nothing else from it. Only for an engine reached by a
 * Unix socket or plain TCP; anything else (ssh://, TLS) goes through dockerode.
 */
import { request } from 'node:http';
import type { JobEntry } from '../core/ledger-state.js';
import type { EngineInfo, QueueContainer } from './engine.js';
import { engineUnreachable } from './engine-errors.js';
import { JOB_LABELS, jobFromLabels, jobKeyFromLabels } from './labels.js';

export interface EngineApi {
  ping(): Promise<void>;
  imageExists(reference: string): Promise<boolean>;
  engineInfo(): Promise<EngineInfo>;
  /** Asked by every reaping pass (`rp ps` included), usually of a host with few containers. */
  listQueueContainers(rpHome: string): Promise<QueueContainer[]>;
  /** Asked when the ledger is missing or unreadable (a new host's first command, say). */
  listJobContainers(rpHome: string): Promise<JobEntry[]>;
}

/** The fields of a `GET /containers/json` entry rp reads. */
export interface ListedContainer {
  Id: string;
  Names: string[];
  State: string;
  Labels: Record<string, string>;
}

/** The `filters` of a container listing: rp's job containers of the host at `rpHome`. */
export function jobContainerFilters(rpHome: string): string {
  return JSON.stringify({ label: [JOB_LABELS.job, `${JOB_LABELS.home}=${rpHome}`] });
}

/** The ledger entries of the live job containers among `containers`, read from their labels. */
export function liveJobsOf(containers: readonly ListedContainer[]): JobEntry[] {
  const jobs: JobEntry[] = [];
  for (const container of containers) {
    if (!['running', 'created', 'restarting'].includes(container.State)) continue;
    const name = (container.Names[0] ?? container.Id).replace(/^\//, '');
    const job = jobFromLabels(container.Labels, { id: container.Id, name });
    if (job) jobs.push(job);
  }
  return jobs;
}

/** The queue's containers among `containers`: those whose labels name a job. */
export function queueContainersOf(containers: readonly ListedContainer[]): QueueContainer[] {
  const listed: QueueContainer[] = [];
  for (const container of containers) {
    const job = jobKeyFromLabels(container.Labels);
    if (!job) continue;
    const name = (container.Names[0] ?? container.Id).replace(/^\//, '');
    listed.push({ id: container.Id, name, state: container.State, job });
  }
  return listed;
}

export type Endpoint = { socketPath: string } | { host: string; port: number };

/** Where DOCKER_HOST points, when a plain HTTP request can reach it. */
export function engineEndpoint(dockerHost: string | undefined): Endpoint | undefined {
  if (process.env.DOCKER_TLS_VERIFY) return undefined;
  if (dockerHost === undefined || dockerHost === '') return { socketPath: '/var/run/docker.sock' };
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const tcp = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(dockerHost);
  if (tcp?.[1] && tcp[2]) return { host: tcp[1], port: Number(tcp[2]) };
  return undefined;
}

/** The fields of `docker info` rp reads. */
export interface DockerInfo {
  ID?: string;
  Name?: string;
  ServerVersion?: string;
  OperatingSystem?: string;
  DockerRootDir?: string;
  Runtimes?: Record<string, unknown>;
  SystemTime?: string;
}

export function engineInfoOf(info: DockerInfo): EngineInfo {
  const result: EngineInfo = { id: info.ID ?? '', name: info.Name ?? '' };
  if (info.ServerVersion) result.version = info.ServerVersion;
  if (info.OperatingSystem) result.operatingSystem = info.OperatingSystem;
  if (info.DockerRootDir) result.rootDir = info.DockerRootDir;
  if (info.Runtimes) result.runtimes = Object.keys(info.Runtimes).sort();
  if (info.SystemTime) result.systemTime = info.SystemTime;
  return result;
}

/** What the engine answered: the status and the whole body as text. */
export interface Answer {
  status: number;
  body: string;
}

/** One request to the engine, its whole answer read; a JSON `body` is sent as such. */
export function send(
  endpoint: Endpoint,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = payload === undefined ? {} : { 'Content-Type': 'application/json' };
    const req = request({ ...endpoint, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', (error) => reject(engineUnreachable(error)));
    req.end(payload);
  });
}

/** The engine's refusal as an error carrying its status and message, as dockerode's do. */
export function refusal(answer: Answer): Error & { statusCode: number } {
  let message = answer.body.trim();
  try {
    message = (JSON.parse(answer.body) as { message?: string }).message ?? message;
  } catch {
    // Not JSON: the text itself.
  }
  return Object.assign(new Error(message), { statusCode: answer.status });
}

export function engineApi(endpoint: Endpoint): EngineApi {
  const get = (path: string): Promise<Answer> => send(endpoint, 'GET', path);
  const failure = (answer: Answer): Error => engineUnreachable(refusal(answer));
  const listJobContainers = async (rpHome: string): Promise<ListedContainer[]> => {
    const filters = encodeURIComponent(jobContainerFilters(rpHome));
    const answer = await get(`/containers/json?all=1&filters=${filters}`);
    if (answer.status !== 200) throw failure(answer);
    return JSON.parse(answer.body) as ListedContainer[];
  };
  return {
    ping: async () => {
      const answer = await get('/_ping');
      if (answer.status !== 200) throw failure(answer);
    },
    imageExists: async (reference) => {
      const answer = await get(`/images/${encodeURIComponent(reference)}/json`);
      if (answer.status === 404) return false;
      if (answer.status !== 200) throw failure(answer);
      return true;
    },
    engineInfo: async () => {
      const answer = await get('/info');
      if (answer.status !== 200) throw failure(answer);
      return engineInfoOf(JSON.parse(answer.body) as DockerInfo);
    },
    listQueueContainers: async (rpHome) => queueContainersOf(await listJobContainers(rpHome)),
    listJobContainers: async (rpHome) => liveJobsOf(await listJobContainers(rpHome)),
  };
}
