#!/usr/bin/env bash
# Stops the sshd that scripts/ssh/start.sh started (by the pid in its pid file). Idempotent. The
# packages, the user, the keys and the state folder stay, so the next start.sh is quick; with
# --purge the user (and its home) and the state folder go too.
set -euo pipefail
state=${RP_SSH_STATE:-/var/lib/rp-sshtest}
user=${RP_SSH_USER:-rpremote1}
say() { echo "ssh/stop: $*" >&2; }
[ "$(id -u)" = 0 ] || {
  say "run as root"
  exit 1
}
# Whether process $1 runs a command line holding $2: a pid file can outlive its process, and on a
# machine that has run for long its number may belong to another process by now.
runs() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"; }
if [ -f "$state/sshd.pid" ]; then
  pid=$(cat "$state/sshd.pid")
  if runs "$pid" "$state/sshd_config"; then
    say "stopping sshd ($pid)"
    kill "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$state/sshd.pid"
fi
if [ "${1:-}" = --purge ]; then
  say "removing $user and $state"
  userdel -r -f "$user" 2>/dev/null || true
  rm -rf "$state"
fi
