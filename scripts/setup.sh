#!/usr/bin/env bash
# Everything rp's tests and demo need on a fresh clone: dependencies, a build, a Docker engine and
# the local base image. Each step does nothing when its work is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing dependencies" >&2
  npm ci --engine-strict --no-audit --no-fund --loglevel=error
fi
echo "setup: building" >&2
npm run --silent build >/dev/null
bash scripts/ensure-docker.sh
bash scripts/ensure-base-image.sh
# The remote tests (`rp ... --on`) submit to a real sshd on 127.0.0.1 (a user, packages, a
# daemon): under CI it must come up here, and the tests fail, not skip, without it. Elsewhere the
# tests start it themselves when they run as root; the demo never does.
if [ -n "${CI:-}" ]; then
  bash scripts/ssh/start.sh >/dev/null
  # The completion tests run the scripts of `rp completion` in a real bash and zsh.
  bash scripts/ensure-packages.sh zsh=zsh
  # The dashboard test drives Debian's chromium headless (playwright-core cannot download a
  # browser here): it must be installed, and the test fails, not skips, without it.
  bash scripts/chromium/ensure.sh >/dev/null
  # The Slurm backend's tests submit to a real single-node cluster (Debian's munge, slurmctld,
  # slurmd: about a minute to install, seconds to start); under CI they fail, not skip, without it.
  bash scripts/slurm/start.sh >/dev/null
  # The Slurm registry test pushes to, and the job pulls from, a real registry on 127.0.0.1
  # (Debian's docker-registry).
  bash scripts/registry/start.sh >/dev/null
fi
