/**
 * A job container's life over the engine's HTTP API, without dockerode: create, attach, start,
 * wait, stop, signal, remove and inspect, each one request. A foreground `rp run` needs nothing
 * else from Docker, and loading dockerode (ssh2, gRPC and protobuf with it) took longer than
 * all of these together. A terminal session (`rp enter`) is not for this client: connectDocker
 * hands it to dockerode, which hijacks the connection for the input.
 */
import { request } from 'node:http';
import type { ContainerEngine, ContainerIO, ContainerRef, ContainerState } from './engine.js';
import {
  containerActionFailed,
  createRefused,
  engineUnreachable,
  NOTHING_TO_DO,
  startFailed,
} from './engine-errors.js';
import { refusal, send, type Endpoint } from './engine-api.js';
import { toCreateOptions, type JobContainerSpec } from './job-container.js';
import { splitRawStream } from './raw-stream.js';

export type ContainerApi = Pick<
  ContainerEngine,
  | 'createJobContainer'
  | 'attach'
  | 'start'
  | 'wait'
  | 'stop'
  | 'signal'
  | 'remove'
  | 'inspectContainer'
>;

/** The fields of `GET /containers/{id}/json` rp reads. */
export interface InspectedContainer {
  State: { Running: boolean; ExitCode: number; StartedAt?: string; FinishedAt?: string };
  Config: { Labels?: Record<string, string> | null; User: string; WorkingDir: string };
  HostConfig: {
    CpusetCpus?: string;
    Memory?: number;
    MemorySwap?: number;
    ShmSize?: number;
    DeviceRequests?: Array<{
      Driver?: string;
      DeviceIDs?: string[] | null;
      Capabilities?: string[][] | null;
    }> | null;
    Binds?: string[] | null;
  };
}

/** Docker's "never" (0001-01-01T00:00:00Z) and an empty time as undefined. */
function zeroTimeToUndefined(time: string | undefined): string | undefined {
  return !time || time.startsWith('0001-01-01') ? undefined : time;
}

export function containerStateOf(info: InspectedContainer): ContainerState {
  const host = info.HostConfig;
  return {
    running: info.State.Running,
    exitCode: info.State.Running ? undefined : info.State.ExitCode,
    startedAt: zeroTimeToUndefined(info.State.StartedAt),
    finishedAt: zeroTimeToUndefined(info.State.FinishedAt),
    labels: info.Config.Labels ?? {},
    hostConfig: {
      cpusetCpus: host.CpusetCpus ?? '',
      memory: host.Memory ?? 0,
      memorySwap: host.MemorySwap ?? 0,
      shmSize: host.ShmSize ?? 0,
      deviceRequests: (host.DeviceRequests ?? []).map((request) => ({
        driver: request.Driver ?? '',
        deviceIds: request.DeviceIDs ?? [],
        capabilities: request.Capabilities ?? [],
      })),
      binds: host.Binds ?? [],
    },
    user: info.Config.User,
    workingDir: info.Config.WorkingDir,
  };
}

/** A job container without a terminal, over the engine's HTTP API at `endpoint`. */
export function containerApi(endpoint: Endpoint): ContainerApi {
  const container = (id: string): string => `/containers/${encodeURIComponent(id)}`;
  /** A stop, signal or removal: done, or nothing left to do, or an error saying what failed. */
  const act = async (
    kind: keyof typeof NOTHING_TO_DO,
    what: string,
    id: string,
    path: string,
  ): Promise<void> => {
    const answer = await send(endpoint, kind === 'remove' ? 'DELETE' : 'POST', path);
    if (answer.status < 300 || NOTHING_TO_DO[kind].includes(answer.status)) return;
    throw containerActionFailed(what, id, refusal(answer));
  };

  return {
    createJobContainer: async (spec: JobContainerSpec): Promise<ContainerRef> => {
      const { name, ...options } = toCreateOptions(spec);
      const query = name === undefined ? '' : `?name=${encodeURIComponent(name)}`;
      const answer = await send(endpoint, 'POST', `/containers/create${query}`, options);
      if (answer.status !== 201) throw createRefused(refusal(answer));
      const { Id } = JSON.parse(answer.body) as { Id: string };
      return { id: Id, name: name ?? Id };
    },
    attach: async (id: string, io: ContainerIO): Promise<{ ended: Promise<void> }> => {
      const path = `${container(id)}/attach?stream=1&stdout=1&stderr=1`;
      return new Promise((resolve, reject) => {
        const req = request({ ...endpoint, path, method: 'POST' }, (res) => {
          if (res.statusCode !== 200) {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.on('end', () => {
              const body = Buffer.concat(chunks).toString('utf8');
              reject(engineUnreachable(refusal({ status: res.statusCode ?? 0, body })));
            });
            return;
          }
          // Attached once the engine answers: nothing the container writes after is lost.
          const splitter = splitRawStream(io.stdout, io.stderr);
          const ended = new Promise<void>((done) => {
            res.on('end', done);
            res.on('close', done);
            res.on('error', () => done());
          });
          res.on('data', (chunk: Buffer) => splitter.push(chunk));
          resolve({ ended });
        });
        req.on('error', (error) => reject(engineUnreachable(error)));
        req.end();
      });
    },
    start: async (id: string): Promise<void> => {
      const answer = await send(endpoint, 'POST', `${container(id)}/start`);
      // 304: already started.
      if (answer.status !== 204 && answer.status !== 304) throw startFailed(refusal(answer));
    },
    wait: async (id: string): Promise<number> => {
      const answer = await send(endpoint, 'POST', `${container(id)}/wait`);
      if (answer.status !== 200) throw engineUnreachable(refusal(answer));
      return (JSON.parse(answer.body) as { StatusCode: number }).StatusCode;
    },
    stop: (id: string, graceSeconds: number) =>
      act('stop', 'stop', id, `${container(id)}/stop?t=${graceSeconds}`),
    signal: (id: string, signal: string) =>
      act(
        'signal',
        `send ${signal} to`,
        id,
        `${container(id)}/kill?signal=${encodeURIComponent(signal)}`,
      ),
    remove: (id: string) => act('remove', 'remove', id, `${container(id)}?force=1&v=1`),
    inspectContainer: async (id: string): Promise<ContainerState | undefined> => {
      const answer = await send(endpoint, 'GET', `${container(id)}/json`);
      if (answer.status === 404) return undefined;
      if (answer.status !== 200) throw engineUnreachable(refusal(answer));
      return containerStateOf(JSON.parse(answer.body) as InspectedContainer);
    },
  };
}
