/**
 * The few read-only questions most rp commands ask Docker (is it there, does this image exist,
 * which engine is it), answered with one HTTP request over the engine's socket: dockerode (with
 * its gRPC and protobuf dependencies) takes longer to load than these take to answer, and a
 * detached submission or a listing needs nothing else from it. Only for an engine reached by a
 * Unix socket or plain TCP; anything else (ssh://, TLS) goes through dockerode.
 */
import { request } from 'node:http';
import type { EngineInfo } from './engine.js';
import { engineUnreachable } from './engine-errors.js';

export interface EngineApi {
  ping(): Promise<void>;
  imageExists(reference: string): Promise<boolean>;
  engineInfo(): Promise<EngineInfo>;
}

type Endpoint = { socketPath: string } | { host: string; port: number };

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

export function engineApi(endpoint: Endpoint): EngineApi {
  const get = (path: string): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request({ ...endpoint, path, method: 'GET' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      });
      req.on('error', (error) => reject(engineUnreachable(error)));
      req.end();
    });
  const failure = (answer: { status: number; body: string }): Error => {
    let message = answer.body.trim();
    try {
      message = (JSON.parse(answer.body) as { message?: string }).message ?? message;
    } catch {
      // Not JSON: the text itself.
    }
    return engineUnreachable(Object.assign(new Error(message), { statusCode: answer.status }));
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
  };
}
