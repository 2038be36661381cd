/**
 * `rp build`, also run before every job: generates the project's Dockerfile, fingerprints all
 * that goes into the image, and builds only when no image with that fingerprint exists.
 */
import createDebug from 'debug';
import { join } from 'node:path';
import {
  GENERATED_FILES,
  renderDockerfile,
  renderEntrypoint,
  type ImageUser,
} from '../core/dockerfile.js';
import { imageContentHash, imageReference } from '../core/image-identity.js';
import { imageUserName } from '../core/naming.js';
import { PROJECT_FILES } from '../core/project-config.js';
import type { BuildUpdate } from '../docker/build-events.js';
import { fingerprintContext, packContext, readIgnoreRules } from '../docker/build-context.js';
import type { ContainerEngine } from '../docker/engine.js';
import { IMAGE_LABELS } from '../docker/labels.js';
import type { LedgerState } from '../core/ledger-state.js';
import type { HostUser } from '../host/identity.js';
import { pinnedImages } from '../ledger/image-pins.js';
import { ledgerPaths, type LedgerPaths } from '../ledger/paths.js';
import { readLedgerSnapshot } from '../ledger/snapshot.js';
import { readProjectFile, type Project } from './project.js';

const debug = createDebug('rp:build');

/** What the build shows while it works; src/ui implements it for terminals and plain output. */
export interface BuildReporter {
  reused(reference: string): void;
  started(reference: string): void;
  update(update: BuildUpdate): void;
  /** Resolves once everything about the build has been shown. */
  finished(reference: string, ok: boolean): Promise<void>;
}

export interface BuildOptions {
  project: Project;
  user: HostUser;
  engine: ContainerEngine;
  reporter: BuildReporter;
  /**
   * Images that jobs in the host's queue will still run (see imagesInQueue); older images of the
   * project are removed only when not among them. Undefined answer: unknown, so none is removed.
   */
  imagesInUse: () => Promise<ReadonlySet<string> | undefined>;
  /**
   * Called with the image's reference before it is looked for or built, so that a rebuild of the
   * project elsewhere keeps it until the job is queued (see src/ledger/image-pins.ts).
   */
  pin?: (reference: string) => Promise<void>;
}

export interface BuildResult {
  reference: string;
  user: ImageUser;
  built: boolean;
}

export async function buildProjectImage(options: BuildOptions): Promise<BuildResult> {
  const { project, engine, reporter } = options;
  const user: ImageUser = {
    name: imageUserName(options.user.name),
    uid: options.user.uid,
    gid: options.user.gid,
  };
  const read = (file: string): Promise<string> => readProjectFile(project.root, file);
  const [base, hookPreUseradd, hookPostUseradd, bashhook] = await Promise.all([
    read(PROJECT_FILES.dockerfile),
    read(PROJECT_FILES.hookPreUseradd),
    read(PROJECT_FILES.hookPostUseradd),
    read(PROJECT_FILES.bashhook),
  ]);
  const generated = [
    {
      path: GENERATED_FILES.dockerfile,
      content: renderDockerfile({ base, hookPreUseradd, hookPostUseradd, user }),
      mode: 0o644,
    },
    { path: GENERATED_FILES.entrypoint, content: renderEntrypoint(), mode: 0o755 },
    { path: GENERATED_FILES.bashhook, content: bashhook, mode: 0o644 },
  ];
  const contextDir = join(project.root, PROJECT_FILES.dockerDir);
  const rules = await readIgnoreRules(contextDir);
  const contextFiles = await fingerprintContext(contextDir, rules);
  const hash = imageContentHash({ generated, contextFiles });
  const reference = imageReference(project.info.tag, hash);

  await options.pin?.(reference);
  if (await engine.imageExists(reference)) {
    debug('image %s exists: no build', reference);
    reporter.reused(reference);
    return { reference, user, built: false };
  }

  reporter.started(reference);
  try {
    await engine.buildImage(
      await packContext(contextDir, rules, generated),
      {
        tag: reference,
        dockerfile: GENERATED_FILES.dockerfile,
        labels: {
          [IMAGE_LABELS.repository]: project.info.tag,
          [IMAGE_LABELS.project]: project.info.name,
          [IMAGE_LABELS.projectPath]: project.root,
          [IMAGE_LABELS.user]: options.user.name,
          [IMAGE_LABELS.contentHash]: hash,
        },
      },
      (update) => reporter.update(update),
    );
  } catch (error) {
    await reporter.finished(reference, false);
    throw error;
  }
  await reporter.finished(reference, true);
  await removeOlderImages(
    engine,
    project,
    options.user.name,
    reference,
    await options.imagesInUse(),
  );
  return { reference, user, built: true };
}

/**
 * Each change of the project's image inputs makes a new image; the older ones of the same project
 * folder and user are removed so they do not pile up. Another user's image of the folder (a
 * shared project, a drop-folder activity) is theirs: it stays. An image that a queued or granted
 * job will run stays (the ledger records each job's image), and so does one still used by a
 * container.
 */
async function removeOlderImages(
  engine: ContainerEngine,
  project: Project,
  user: string,
  keep: string,
  inUse: ReadonlySet<string> | undefined,
): Promise<void> {
  if (inUse === undefined) {
    debug('the queue could not be read: older images are kept');
    return;
  }
  const repository = project.info.tag;
  const images = await engine.listImages({
    [IMAGE_LABELS.repository]: repository,
    [IMAGE_LABELS.projectPath]: project.root,
    [IMAGE_LABELS.user]: user,
  });
  for (const image of images) {
    if (image === keep || !image.startsWith(`${repository}:`)) continue;
    if (inUse.has(image)) {
      debug('kept older image %s: a job in the queue runs it', image);
      continue;
    }
    try {
      await engine.removeImage(image);
      debug('removed older image %s', image);
    } catch (error) {
      debug('kept older image %s: %s', image, (error as Error).message);
    }
  }
}

/** The images the jobs of a ledger run, and those pinned by jobs being prepared. */
export async function imagesInUse(state: LedgerState, paths: LedgerPaths): Promise<Set<string>> {
  const images = new Set(state.jobs.flatMap((job) => (job.image === undefined ? [] : [job.image])));
  for (const pinned of await pinnedImages(paths)) images.add(pinned);
  return images;
}

/** The images the queue at `rpHome` still needs; undefined when its ledger cannot be read. */
export async function imagesInQueue(rpHome: string): Promise<Set<string> | undefined> {
  const state = await readLedgerSnapshot(rpHome);
  return state === undefined ? undefined : imagesInUse(state, ledgerPaths(rpHome));
}
