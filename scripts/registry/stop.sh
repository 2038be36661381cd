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
# Whether process $1 runs a command line holding $2: a pid file can outlive its process, and on a
# machine that has run for long its number may belong to another process by now.
runs() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"; }
if [ -f "$state/registry.pid" ]; then
  pid=$(cat "$state/registry.pid")
  if runs "$pid" "docker-registry serve $state/config.yml"; then
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
