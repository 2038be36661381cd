/**
 * The project's final Dockerfile, generated as text: the user's base Dockerfile, then
 * hook_pre_useradd (as root), then a layer giving the host user's name, uid AND gid to a user in
 * the image, then hook_post_useradd (as that user), then the wiring that sources bashhook.sh for
 * the job and for interactive shells. Pure, so every case is unit-tested without Docker.
 */

/** The user the job runs as: the host user, by name, uid and gid. */
export interface ImageUser {
  name: string;
  uid: number;
  gid: number;
}

export interface DockerfileParts {
  base: string;
  hookPreUseradd: string;
  hookPostUseradd: string;
  user: ImageUser;
}

/** Files rp adds to the build context, beside the user's own files in docker/. */
export const GENERATED_DIR = '.rp-build';
export const GENERATED_FILES = {
  dockerfile: `${GENERATED_DIR}/Dockerfile`,
  entrypoint: `${GENERATED_DIR}/entrypoint.sh`,
  bashhook: `${GENERATED_DIR}/bashhook.sh`,
} as const;

/** Where things live inside the image. */
export const IMAGE_PATHS = {
  bashhook: '/etc/rp/bashhook.sh',
  entrypoint: '/usr/local/bin/rp-entrypoint',
} as const;

export function homeDirectory(user: ImageUser): string {
  return `/home/${user.name}`;
}

export function renderDockerfile(parts: DockerfileParts): string {
  const { user } = parts;
  const runAs = `${user.uid}:${user.gid}`;
  return [
    trimBlock(parts.base),
    '',
    '# ---- rp: docker/hook_pre_useradd (as root)',
    'USER root',
    trimBlock(parts.hookPreUseradd),
    '',
    '# ---- rp: the host user',
    ...userLayer(user),
    `USER ${runAs}`,
    `WORKDIR ${homeDirectory(user)}`,
    '',
    '# ---- rp: docker/hook_post_useradd (as the user)',
    trimBlock(parts.hookPostUseradd),
    '',
    '# ---- rp: source docker/bashhook.sh in every job and every interactive shell',
    'USER root',
    `COPY ${GENERATED_FILES.bashhook} ${IMAGE_PATHS.bashhook}`,
    `COPY ${GENERATED_FILES.entrypoint} ${IMAGE_PATHS.entrypoint}`,
    // Interactive bash reads /etc/bash.bashrc; Debian's returns early for non-interactive shells,
    // so this line only runs for `rp enter`. Jobs get the hook from the entrypoint.
    `RUN chmod 0644 ${IMAGE_PATHS.bashhook} && chmod 0755 ${IMAGE_PATHS.entrypoint} && \\`,
    `    printf '\\n# rp: the project bashhook\\n[ -r ${IMAGE_PATHS.bashhook} ] && . ${IMAGE_PATHS.bashhook}\\n' >> /etc/bash.bashrc`,
    `USER ${runAs}`,
    `ENTRYPOINT ["${IMAGE_PATHS.entrypoint}"]`,
    'CMD ["bash"]',
    '',
  ].join('\n');
}

/**
 * The entrypoint every container of the project starts through: it sources the bashhook so its
 * exports reach the job, then replaces itself with the job's own argument vector.
 */
export function renderEntrypoint(): string {
  return [
    '#!/bin/bash',
    '# rp: make the exports of docker/bashhook.sh visible to the job, then run it.',
    `if [ -r ${IMAGE_PATHS.bashhook} ]; then . ${IMAGE_PATHS.bashhook}; fi`,
    'exec "$@"',
    '',
  ].join('\n');
}

/**
 * The RUN lines that make the host user exist in the image. Written for POSIX sh (the base's
 * /bin/sh may be dash or bash). Cases: root (nothing to create); a group with our gid already
 * exists (reuse it); a user with our name exists (give it our uid/gid); another user holds our uid,
 * such as `ubuntu` (uid 1000) in Ubuntu 24.04 images (rename it to our name).
 */
function userLayer(user: ImageUser): string[] {
  const home = homeDirectory(user);
  if (user.uid === 0) {
    return ['# The host user is root: the job runs as root.', `RUN mkdir -p ${home}`];
  }
  const name = shellQuote(user.name);
  const { uid, gid } = user;
  return [
    'RUN set -eu; \\',
    `    if ! getent group ${gid} >/dev/null; then \\`,
    `      if getent group ${name} >/dev/null; then groupmod -g ${gid} ${name}; \\`,
    `      else groupadd -g ${gid} ${name}; fi; \\`,
    '    fi; \\',
    `    holder="$(getent passwd ${uid} | cut -d: -f1)" || holder=""; \\`,
    `    if getent passwd ${name} >/dev/null; then \\`,
    `      usermod -o -u ${uid} -g ${gid} ${name}; \\`,
    `    elif [ -n "$holder" ]; then \\`,
    `      usermod -l ${name} -g ${gid} "$holder"; \\`,
    '    else \\',
    `      useradd -M -N -u ${uid} -g ${gid} -s /bin/bash ${name}; \\`,
    '    fi; \\',
    `    if [ "$(getent passwd ${name} | cut -d: -f6)" != ${home} ]; then usermod -d ${home} ${name}; fi; \\`,
    `    mkdir -p ${home} && chown ${uid}:${gid} ${home}`,
  ];
}

function trimBlock(text: string): string {
  return text.replace(/\s+$/, '');
}

function shellQuote(text: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
