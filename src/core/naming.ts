/**
 * Names rp derives from folders and users. Docker is strict about repository names (lowercase,
 * [a-z0-9] separated by single '.', '_' or '-'), and useradd about user names; these functions
 * never produce an invalid one, whatever the input.
 */

const MAX_COMPONENT_LENGTH = 64;

/** One path component of a Docker repository name, or '' when nothing usable is left. */
export function toRepositoryComponent(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_COMPONENT_LENGTH)
    .replace(/-+$/, '');
}

/** The default project name: the folder name, normalised to a valid Docker repository name. */
export function projectNameFromFolder(folderName: string): string {
  return toRepositoryComponent(folderName) || 'project';
}

/**
 * The default image repository of a project: `rp/<user>-<name>`. The user part falls back to
 * `user` when the user name has no usable character (the original produced `/rp_x` there).
 */
export function defaultImageRepository(userName: string, projectName: string): string {
  const user = toRepositoryComponent(userName) || 'user';
  const name = toRepositoryComponent(projectName) || 'project';
  return `rp/${user}-${name}`;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const REGISTRY_HOST = /^[a-zA-Z0-9.-]+(?::[0-9]+)?$/;

/**
 * Whether `repository` is a valid Docker repository name without a tag: optional registry host,
 * then lowercase components separated by '/'.
 */
export function isValidRepository(repository: string): boolean {
  if (repository.length === 0 || repository.length > 255) return false;
  const parts = repository.split('/');
  const first = parts[0] ?? '';
  const hasRegistry =
    parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const components = hasRegistry ? parts.slice(1) : parts;
  if (hasRegistry && !REGISTRY_HOST.test(first)) return false;
  return components.length > 0 && components.every((component) => COMPONENT.test(component));
}

/** Whether `name` is a valid project name (one repository component). */
export function isValidProjectName(name: string): boolean {
  return name.length <= MAX_COMPONENT_LENGTH && COMPONENT.test(name);
}

const LINUX_USER = /^[a-z_][a-z0-9_-]{0,31}$/;

/**
 * The name of the user inside the image. Host user names are almost always valid Linux names;
 * anything else is normalised so useradd accepts it.
 */
export function imageUserName(hostUserName: string): string {
  if (LINUX_USER.test(hostUserName)) return hostUserName;
  let name = hostUserName.toLowerCase().replace(/[^a-z0-9_-]+/g, '_');
  if (!/^[a-z_]/.test(name)) name = `_${name}`;
  name = name.slice(0, 32);
  return LINUX_USER.test(name) ? name : 'rpuser';
}

/** The name a job goes by in messages and listings: rp1234. */
export function jobName(jobId: string): string {
  return `rp${jobId}`;
}

/**
 * The name of a job's container: rp1234-<seq>-<suffix>. Ids are reused, so `rp1234` alone would
 * collide with a container an earlier job left behind (Docker refuses with 409 Conflict); the seq
 * differs for every job of one queue, and the random suffix tells apart the queues of several rp
 * homes sharing one engine. Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; anything else in the
 * suffix is dropped.
 */
export function jobContainerName(job: { id: string; seq: number }, suffix: string): string {
  const tail = suffix.replace(/[^a-zA-Z0-9_.-]/g, '');
  return [jobName(job.id), String(job.seq), ...(tail === '' ? [] : [tail])].join('-');
}
