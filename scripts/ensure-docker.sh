#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine. Idempotent and quiet when one already does:
#   1. `docker info` answers            -> nothing to do
#   2. dockerd installed, not running   -> start it in the background and wait until it answers
#   3. dockerd missing, root with apt   -> install Debian's docker.io, then as 2
#   otherwise                           -> say what to install and exit non-zero
set -euo pipefail

log=${RP_DOCKERD_LOG:-/var/log/rp-dockerd.log}
say() { echo "ensure-docker: $*" >&2; }

engine_answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
  exit 0
fi

is_root() { [ "$(id -u)" = 0 ]; }

if ! command -v dockerd >/dev/null 2>&1; then
  if is_root && command -v apt-get >/dev/null 2>&1; then
    say "no Docker engine on this machine: installing Debian's docker.io"
    apt_log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a apt-get install -y -qq docker.io; } >"$apt_log" 2>&1; then
      say "installing docker.io failed:"; tail -n 20 "$apt_log" >&2; exit 1
    fi
    rm -f "$apt_log"
  else
    say "no Docker engine on this machine. Install one (Debian/Ubuntu: sudo apt-get install docker.io) and run again."
    exit 1
  fi
fi

if ! is_root; then
  say "the Docker engine is installed but does not answer. Start it (sudo systemctl start docker) and make sure your user is in the docker group."
  exit 1
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  say "starting dockerd (log: $log)"
  # setsid: the engine must outlive the shell that started it.
  setsid nohup dockerd >"$log" 2>&1 </dev/null &
fi

for _ in $(seq 1 120); do
  if engine_answers; then exit 0; fi
  sleep 0.5
done
say "dockerd did not answer within 60 s; its log ($log) ends with:"
tail -n 20 "$log" >&2 || true
exit 1
