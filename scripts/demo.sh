#!/usr/bin/env bash
# `npm run demo`: the main job end to end on this machine. Sets everything up (dependencies, a
# build, a Docker engine, the local base image), prepares a private host queue and a demo project
# in a temp folder, and runs `rp run --script="hello.sh world"` in a container.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bash "$repo/scripts/setup.sh"

rp() { node "$repo/bin/run.js" "$@"; }
demo=$(mktemp -d /tmp/rp-demo.XXXXXX)
export RP_HOME="$demo/rp-home"
echo "demo folder: $demo" >&2

echo "\$ rp host init   (a private queue in \$RP_HOME=$RP_HOME)" >&2
rp host init >/dev/null

mkdir "$demo/hello-project" && cd "$demo/hello-project"
echo "\$ rp init --base ${RP_BASE_IMAGE:-rp-base:bookworm} --gpu 0 --cpu 1 --mem 1" >&2
rp init --base "${RP_BASE_IMAGE:-rp-base:bookworm}" --gpu 0 --cpu 1 --mem 1 >/dev/null
echo 'export GREETING="hello"' >> docker/bashhook.sh
cat > hello.sh <<'SCRIPT'
#!/bin/bash
echo "$GREETING $1, from $(id -un) (uid $(id -u), gid $(id -g)) in $PWD"
echo "cores: $(nproc), memory limit: $(( $(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes) / 1048576 )) MiB"
SCRIPT

echo '$ rp run --script="hello.sh world"' >&2
rp run --script="hello.sh world"
