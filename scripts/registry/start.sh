#!/usr/bin/env bash
# Brings up a real Docker registry (Debian's docker-registry, the reference "distribution"
# registry) on 127.0.0.1, for the Slurm backend's `backend.registry` path: rp pushes a job's image
# there and the job script on the node pulls it by its content-hashed tag. Idempotent: what is
# installed and running already is left as it is; a changed configuration restarts it.
#   1. installs Debian's docker-registry when missing (root, apt), without starting the package's
#      own service (its default config asks for an htpasswd file that is not there)
#   2. writes a private config: no authentication, 127.0.0.1 only, storage in the state folder.
#      Plain HTTP is enough: dockerd treats 127.0.0.0/8 as an insecure-ok registry by default
#   3. starts the registry in the background and waits until its API answers (GET /v2/)
#   4. prints KEY=VALUE lines (read by test/support/registry.ts): RP_REGISTRY=127.0.0.1:PORT
# scripts/registry/stop.sh stops it again. Environment:
#   RP_REGISTRY_STATE   the state folder (default /var/lib/rp-registry)
#   RP_REGISTRY_PORT    the port (default 5055, not 5000, so a registry of the machine's own on its
#                       default port is left alone)
#   RP_REGISTRY_WAIT_S  how long to wait for the API to answer (default 30)
#   RP_REGISTRY_AUTH    USER:PASSWORD: the registry asks for this login (htpasswd, bcrypt), for
#                       the test of rp's push with `docker login`'s stored credentials; run it
#                       with its own RP_REGISTRY_STATE and RP_REGISTRY_PORT next to the open one
set -euo pipefail
cd "$(dirname "$0")/../.."

state=${RP_REGISTRY_STATE:-/var/lib/rp-registry}
port=${RP_REGISTRY_PORT:-5055}
wait_s=${RP_REGISTRY_WAIT_S:-30}
auth=${RP_REGISTRY_AUTH:-}
address=127.0.0.1:$port
say() { echo "registry/start: $*" >&2; }
die() {
  say "$*"
  exit 1
}

[ "$(id -u)" = 0 ] || die "run as root: it installs a package and starts a daemon"

# --- 1. the package ------------------------------------------------------------------------------
if ! command -v docker-registry >/dev/null 2>&1; then
  # The package's postinst must not start its service (port 5000, an htpasswd it does not ship):
  # a policy-rc.d that says "no" (exit 101) prevents it, and is removed again if we put it there.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  status=0
  bash scripts/ensure-packages.sh docker-registry=docker-registry || status=$?
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
  [ "$status" = 0 ] || die "could not install docker-registry"
fi

# --- 2. the configuration ------------------------------------------------------------------------
mkdir -p "$state/data"
chmod 700 "$state"
conf=$state/config.yml
auth_conf=
if [ -n "$auth" ]; then
  # The registry reads bcrypt only; Debian's libcrypt makes it (python3's crypt module). A new
  # hash has a new salt: it is made again only when the login changed.
  if [ ! -f "$state/htpasswd" ] || [ "$(cat "$state/htpasswd.login" 2>/dev/null)" != "$auth" ]; then
    RP_LOGIN=$auth python3 -W ignore -c '
import crypt, os
user, _, password = os.environ["RP_LOGIN"].partition(":")
print(user + ":" + crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH)))' >"$state/htpasswd"
    printf '%s' "$auth" >"$state/htpasswd.login"
  fi
  auth_conf="auth:
  htpasswd:
    realm: rp-test
    path: $state/htpasswd
"
fi
conf_text="# Written by scripts/registry/start.sh: a private registry for rp's Slurm tests.
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $state/data
  delete:
    enabled: true
http:
  addr: $address
$auth_conf"
changed=
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$(printf '%s' "$conf_text")" ]; then
  printf '%s' "$conf_text" >"$conf"
  changed=1
fi

# --- 3. the daemon -------------------------------------------------------------------------------
# Whether process $1 runs a command line holding $2: a pid file can outlive its process, and on a
# machine that has run for long its number may belong to another process by now.
runs() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"; }
alive() { [ -f "$state/registry.pid" ] && runs "$(cat "$state/registry.pid")" "docker-registry serve $conf"; }
# Up means the API answers: 200, or 401 where a login is asked for.
answers() {
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "http://$address/v2/" 2>/dev/null) || return 1
  [ "$code" = 200 ] || [ "$code" = 401 ]
}
if [ -n "$changed" ] && alive; then
  say "configuration changed: restarting the registry"
  kill "$(cat "$state/registry.pid")"
  for _ in $(seq 1 50); do
    alive || break
    sleep 0.1
  done
fi
if ! alive; then
  answers && die "something else answers on $address: set RP_REGISTRY_PORT to a free port"
  say "starting docker-registry on $address (log: $state/registry.log)"
  # Under setsid, so it outlives this script and the test run that started it.
  setsid nohup docker-registry serve "$conf" </dev/null >>"$state/registry.log" 2>&1 &
  echo $! >"$state/registry.pid"
fi

deadline=$((SECONDS + wait_s))
until answers; do
  if [ $SECONDS -ge $deadline ] || ! alive; then
    say "the registry does not answer on http://$address/v2/ within ${wait_s} s"
    tail -n 20 "$state/registry.log" >&2 || true
    exit 1
  fi
  sleep 0.2
done

echo "RP_REGISTRY=$address"
echo "RP_REGISTRY_LOG=$state/registry.log"
echo "RP_REGISTRY_PID=$(cat "$state/registry.pid")"
