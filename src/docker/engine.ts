/**
 * What rp needs from a container engine. src/docker/dockerode-engine.ts implements it with
 * dockerode; everything else depends on this interface only, and gets an instance from
 * `connectDocker()` (which loads dockerode lazily, keeping CLI start-up fast).
 */
import type { Readable } from 'node:stream';
import type { JobEntry } from '../core/ledger-state.js';
import type { BuildUpdate } from './build-events.js';
import { containerApi } from './container-api.js';
import { engineApi, engineEndpoint } from './engine-api.js';
import type { JobContainerSpec } from './job-container.js';

export interface ImageBuildOptions {
  /** Full reference to tag the image with, e.g. rp/alice-proj:0123abcd. */
  tag: string;
  /** Path of the Dockerfile inside the context. */
  dockerfile: string;
  labels: Record<string, string>;
}

export interface ContainerEngine {
  /** Resolves when the engine answers; throws DockerError saying how to fix it otherwise. */
  ping(): Promise<void>;
  imageExists(reference: string): Promise<boolean>;
  /**
   * Builds an image from a tar stream. Resolves only when the build succeeded and the tag exists;
   * throws BuildError naming the failing step otherwise.
   */
  buildImage(
    context: Readable,
    options: ImageBuildOptions,
    onUpdate: (update: BuildUpdate) => void,
  ): Promise<void>;
  /** Image references carrying all of the given labels. */
  listImages(labels: Record<string, string>): Promise<string[]>;
  removeImage(reference: string): Promise<void>;

  /** Creates (does not start) a job's container; throws DockerError on refusal. */
  createJobContainer(spec: JobContainerSpec): Promise<ContainerRef>;
  /**
   * Connects the container's output (and, for a terminal, its input) to ours. Call before
   * start() so no output is lost; `ended` resolves once all output has been delivered.
   */
  attach(id: string, io: ContainerIO): Promise<{ ended: Promise<void> }>;
  start(id: string): Promise<void>;
  /** Resolves with the exit code once the container has stopped. */
  wait(id: string): Promise<number>;
  /** Sends SIGTERM, then SIGKILL after `graceSeconds`. A stopped container is fine. */
  stop(id: string, graceSeconds: number): Promise<void>;
  /** Sends `signal` ("SIGUSR1") to the container's main process; a stopped one is fine. */
  signal(id: string, signal: string): Promise<void>;
  /** Removes the container, stopping it first if needed; an absent one is fine. */
  remove(id: string): Promise<void>;
  resize(id: string, size: { rows: number; columns: number }): Promise<void>;
  /** The container's state, or undefined when it does not exist. */
  inspectContainer(id: string): Promise<ContainerState | undefined>;
  /** The jobs of the containers of the queue at `rpHome` that still exist, from their labels. */
  listJobContainers(rpHome: string): Promise<JobEntry[]>;
  /**
   * Every job container of the queue at `rpHome` in any state (created, running, exited, ...),
   * with the job its labels name: what the reaper checks for leftovers.
   */
  listQueueContainers(rpHome: string): Promise<QueueContainer[]>;
  /** Which engine this is (`docker info`), so a ledger is only ever used with one engine. */
  engineInfo(): Promise<EngineInfo>;
  /**
   * Runs `nvidia-smi -L` in a throwaway container given every GPU (`rp doctor`), in an image rp
   * built (the NVIDIA toolkit mounts nvidia-smi into any image); removed afterwards.
   */
  probeGpuContainer(): Promise<GpuProbe>;
}

/** A job container as Docker lists it. */
export interface QueueContainer {
  id: string;
  name: string;
  /** Docker's state: created, running, paused, restarting, removing, exited or dead. */
  state: string;
  /** From the rp.job and rp.seq labels; seq is undefined when the label is missing or bad. */
  job: { id: string; seq: number | undefined };
}

export interface EngineInfo {
  /** The engine's own id (`docker info` ID); empty when the engine does not report one. */
  id: string;
  /** The host name the engine reports (`docker info` Name), for messages. */
  name: string;
  /** What `rp doctor` shows and checks; absent when the engine does not say. */
  version?: string;
  operatingSystem?: string;
  /** Where it keeps images and containers (DockerRootDir). */
  rootDir?: string;
  /** The container runtimes it knows ("runc", "nvidia", ...). */
  runtimes?: string[];
  /** Its clock (SystemTime, ISO). */
  systemTime?: string;
}

/** What a test container with every GPU (`rp doctor`) printed, or why it could not run. */
export interface GpuProbe {
  /** The image it ran; undefined when no image was there to run. */
  image: string | undefined;
  /** The container's exit code; 125 when Docker refused to create or start it. */
  exitCode: number;
  output: string;
}

export interface ContainerRef {
  id: string;
  name: string;
}

export interface ContainerIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** A terminal session: raw input goes in, one combined output stream comes out. */
  tty?: { stdin: NodeJS.ReadableStream };
}

export interface ContainerState {
  running: boolean;
  exitCode: number | undefined;
  startedAt: string | undefined;
  finishedAt: string | undefined;
  labels: Record<string, string>;
  /** HostConfig as Docker stored it: what the job really got. */
  hostConfig: {
    cpusetCpus: string;
    memory: number;
    memorySwap: number;
    shmSize: number;
    deviceRequests: Array<{ driver: string; deviceIds: string[]; capabilities: string[][] }>;
    binds: string[];
  };
  user: string;
  workingDir: string;
}

/**
 * Whether a call is part of a terminal session (`rp enter`): dockerode's from the create on, since
 * it hijacks the connection for the input, and the attach must follow the create at once, with
 * the user typing, rather than wait for dockerode to load.
 */
function isTerminalSession(method: string, args: unknown[]): boolean {
  if (method === 'createJobContainer') return (args[0] as JobContainerSpec).interactive;
  if (method === 'attach') return (args[1] as ContainerIO).tty !== undefined;
  return false;
}

/**
 * The Docker engine, loaded on first use: dockerode is the heaviest import rp has, and listings
 * such as `rp ps` usually finish without asking Docker anything. The read-only questions of
 * engine-api.ts and a job container's life (container-api.ts) are answered without loading it.
 */
export async function connectDocker(): Promise<ContainerEngine> {
  let loaded: Promise<ContainerEngine> | undefined;
  const engine = (): Promise<ContainerEngine> =>
    (loaded ??= import('./dockerode-engine.js').then(
      ({ DockerodeEngine }) => new DockerodeEngine(),
    ));
  const endpoint = engineEndpoint(process.env.DOCKER_HOST);
  const api =
    endpoint === undefined ? undefined : { ...engineApi(endpoint), ...containerApi(endpoint) };
  const delegate = (method: string) => {
    const answers = api !== undefined && Object.hasOwn(api, method);
    return async (...args: unknown[]) => {
      if (answers && !isTerminalSession(method, args)) {
        const fn = api[method as keyof typeof api] as (...params: unknown[]) => unknown;
        return fn(...args);
      }
      const real = await engine();
      const fn = real[method as keyof ContainerEngine] as (...params: unknown[]) => unknown;
      return fn.apply(real, args);
    };
  };
  // Every method of ContainerEngine is async, so each can wait for the load before delegating.
  // Each method is made once, at its first use: engine.start === engine.start, as on a class.
  const methods = new Map<string, ReturnType<typeof delegate>>();
  return new Proxy({} as ContainerEngine, {
    get: (_target, method) => {
      // Not a thenable (`await` looks for `then`), and nothing but the interface's methods.
      if (typeof method !== 'string' || method === 'then') return undefined;
      let made = methods.get(method);
      if (made === undefined) methods.set(method, (made = delegate(method)));
      return made;
    },
  });
}
