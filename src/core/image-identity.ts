import { createHash } from 'node:crypto';

/** A file of the build context as far as the image's identity is concerned. */
export interface ContextFile {
  path: string;
  mode: number;
  digest: string;
}

export interface ImageInputs {
  /** The generated files (Dockerfile, entrypoint, bashhook copy) by context path. */
  generated: ReadonlyArray<{ path: string; content: string; mode: number }>;
  /** The user's files in docker/ after .dockerignore. */
  contextFiles: readonly ContextFile[];
}

/**
 * A hash of everything that goes into the image: the generated Dockerfile (which holds the hooks
 * and the user's name, uid and gid), the entrypoint, the bashhook, and every context file. Equal
 * hashes mean an identical build, so an image with this hash is reused without building.
 */
export function imageContentHash(inputs: ImageInputs): string {
  const hash = createHash('sha256');
  hash.update('rp-image-v1\n');
  const generated = [...inputs.generated].sort((a, b) => a.path.localeCompare(b.path));
  for (const file of generated) {
    hash.update(`generated ${file.path} ${file.mode.toString(8)} ${file.content.length}\n`);
    hash.update(file.content);
    hash.update('\n');
  }
  const files = [...inputs.contextFiles].sort((a, b) => a.path.localeCompare(b.path));
  for (const file of files)
    hash.update(`file ${file.path} ${file.mode.toString(8)} ${file.digest}\n`);
  return hash.digest('hex');
}

/** The image reference for a project: its repository, tagged with the start of the content hash. */
export function imageReference(repository: string, contentHash: string): string {
  return `${repository}:${contentHash.slice(0, 16)}`;
}
