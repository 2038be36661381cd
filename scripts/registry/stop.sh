#!/usr/bin/env bash
# Stops the registry that scripts/registry/start.sh started (by the pid in its pid file).
# Idempotent. The package and the stored images stay; with --purge the state folder goes too.
set -euo pipefail
state=${RP_REGISTRY_STATE:-/var/lib/rp-registry}
say() { echo "registry/stop: $*" >&2; }
[ "$(id -u)" = 0 ] || {
  say "run as root"
  exit 1
}
if [ -f "$state/registry.pid" ]; then
  pid=$(cat "$state/registry.pid")
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping the registry ($pid)"
    kill "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$state/registry.pid"
fi
if [ "${1:-}" = --purge ]; then
  say "removing $state"
  rm -rf "$state"
fi
