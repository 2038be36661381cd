#!/usr/bin/env bash
# Stops the single-node Slurm cluster that scripts/slurm/start.sh started: slurmd, slurmctld,
# munged (and slurmdbd and MariaDB, where accounting was started), each by the pid in its pid
# file, and removes the fake GPU device nodes. Idempotent.
# The packages and /etc/slurm stay, so the next start.sh is quick.
set -euo pipefail

say() { echo "slurm/stop: $*" >&2; }
[ "$(id -u)" = 0 ] || {
  say "run as root"
  exit 1
}

stop_daemon() { # name pidfile
  [ -f "$2" ] || return 0
  local pid
  pid=$(cat "$2")
  # Only the daemon itself: the pid file may have outlived it and its number gone to another.
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]; then
    say "stopping $1 ($pid)"
    kill "$pid"
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "$1 did not stop within 10 s: killing it"
      kill -9 "$pid" || true
    fi
  fi
  rm -f "$2"
}

# Jobs still queued or running would be requeued at the next start: cancel them first.
if command -v scancel >/dev/null 2>&1 && [ -f /run/slurm/slurmctld.pid ] &&
  [ "$(cat "/proc/$(cat /run/slurm/slurmctld.pid)/comm" 2>/dev/null)" = slurmctld ]; then
  timeout 10 scancel --full --quiet --user=root >/dev/null 2>&1 || true
fi

stop_daemon slurmd /run/slurm/slurmd.pid
stop_daemon slurmctld /run/slurm/slurmctld.pid
# Started by start.sh only with RP_SLURM_ACCOUNTING=1.
stop_daemon slurmdbd /run/slurm/slurmdbd.pid
stop_daemon mariadbd /run/mysqld/mysqld.pid
stop_daemon munged /run/munge/munged.pid
rm -f /dev/rp-fake-gpu[0-9]*
