/**
 * What rp needs from a container engine. src/docker/dockerode-engine.ts implements it with
 * dockerode; everything else depends on this interface only, and gets an instance from
 * `connectDocker()` (which loads dockerode lazily, keeping CLI start-up fast).
 */
import type { Readable } from 'node:stream';
import type { BuildUpdate } from './build-events.js';

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
}

export async function connectDocker(): Promise<ContainerEngine> {
  const { DockerodeEngine } = await import('./dockerode-engine.js');
  return new DockerodeEngine();
}
