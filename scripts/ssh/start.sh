#!/usr/bin/env bash
# Brings up a real OpenSSH server on 127.0.0.1 that behaves as a lab's GPU server for `rp ... --on`:
# the remote integration tests and the benchmark's remote row submit to it. Idempotent: what is
# installed, made and running already is left as it is; a changed configuration restarts sshd.
#   1. installs Debian's openssh-server and rsync when missing (root, apt)
#   2. makes a throwaway non-root user (default rpremote1) in the docker group
#   3. generates a host key and a user key (ed25519) into the state folder
#   4. puts rp on that user's PATH: a wrapper running this repository's bin/run.js (or a copy of the
#      built CLI when the user cannot read the repository), and prepares an RP_HOME for it
#   5. starts sshd (a private config: key logins only, that user only, 127.0.0.1 only) on a
#      non-default port, and waits until a login works
#   6. writes an ssh client config naming the server `rp-sshtest` (host key pinned, user key), and
#      prints KEY=VALUE lines saying where everything is (read by test/support/ssh-server.ts)
# scripts/ssh/stop.sh stops sshd again. Environment:
#   RP_SSH_STATE   the state folder (default /var/lib/rp-sshtest)
#   RP_SSH_USER    the server's user (default rpremote1)
#   RP_SSH_PORT    the port (default 22122)
#   RP_SSH_WAIT_S  how long to wait for sshd to accept a login (default 30)
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

state=${RP_SSH_STATE:-/var/lib/rp-sshtest}
user=${RP_SSH_USER:-rpremote1}
port=${RP_SSH_PORT:-22122}
wait_s=${RP_SSH_WAIT_S:-30}
alias_name=rp-sshtest
say() { echo "ssh/start: $*" >&2; }
die() {
  say "$*"
  exit 1
}

[ "$(id -u)" = 0 ] || die "run as root: it installs packages, adds a user and starts sshd"
[ -f "$repo/dist/commands/run.js" ] || die "build rp first (npm run build): $repo/dist is missing"

# --- 1. packages -------------------------------------------------------------------------------
missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
command -v rsync >/dev/null 2>&1 || missing+=(rsync)
command -v ssh >/dev/null 2>&1 || missing+=(openssh-client)
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get to install them"
  say "installing ${missing[*]}"
  # The package's postinst must not start the system's sshd on port 22: a policy-rc.d that says
  # "no" (exit 101) prevents it, and is removed again if we put it there.
  own_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt_log=$(mktemp)
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a \
    apt-get install -y -qq "${missing[@]}"; } >"$apt_log" 2>&1; then
    [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
    say "installing ${missing[*]} failed:"
    tail -n 20 "$apt_log" >&2
    exit 1
  fi
  [ -z "$own_policy" ] || rm -f /usr/sbin/policy-rc.d
  rm -f "$apt_log"
fi

# --- 2. the server's user ------------------------------------------------------------------------
getent group docker >/dev/null || die "there is no docker group: run scripts/ensure-docker.sh first"
if ! id "$user" >/dev/null 2>&1; then
  say "adding user $user (group docker)"
  useradd -m -s /bin/bash -G docker "$user"
fi
id -nG "$user" | tr ' ' '\n' | grep -qx docker || usermod -aG docker "$user"
# useradd leaves the password "!" (locked), and sshd refuses locked accounts even for key logins:
# "*" means no password can ever match, without the lock.
[ "$(getent shadow "$user" | cut -d: -f2)" = '*' ] || usermod -p '*' "$user"
home=$(getent passwd "$user" | cut -d: -f6)

# --- 3. keys -------------------------------------------------------------------------------------
mkdir -p "$state" "$state/client" "$state/keys" "$state/bin"
chmod 755 "$state" "$state/keys" "$state/bin"
chmod 700 "$state/client"
[ -f "$state/keys/host_ed25519" ] ||
  ssh-keygen -q -t ed25519 -N '' -C "rp-sshtest host" -f "$state/keys/host_ed25519"
[ -f "$state/client/id_ed25519" ] ||
  ssh-keygen -q -t ed25519 -N '' -C "rp-sshtest client" -f "$state/client/id_ed25519"
chmod 600 "$state/keys/host_ed25519" "$state/client/id_ed25519"
# Root-owned and not writable by the user: sshd's StrictModes accepts it, the user cannot add keys.
cp "$state/client/id_ed25519.pub" "$state/keys/authorized_keys_$user"
chmod 644 "$state/keys/authorized_keys_$user"
printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1-2 "$state/keys/host_ed25519.pub")" \
  >"$state/client/known_hosts"

# --- 4. rp on the user's PATH --------------------------------------------------------------------
node_bin=$(command -v node) || die "node is not installed"
if runuser -u "$user" -- test -r "$repo/bin/run.js" -a -r "$repo/dist/commands/run.js" -a -r "$repo/node_modules/@oclif/core/package.json"; then
  rp_root=$repo
else
  # The user cannot read this clone (e.g. under /root): run a copy of the built CLI instead.
  rp_root=$state/rp
  say "copying the built rp to $rp_root (the user cannot read $repo)"
  mkdir -p "$rp_root"
  for part in bin dist templates node_modules package.json oclif.manifest.json; do
    [ -e "$repo/$part" ] || continue
    if command -v rsync >/dev/null 2>&1; then
      rsync -a --delete "$repo/$part" "$rp_root/"
    else
      rm -rf "${rp_root:?}/$part" && cp -a "$repo/$part" "$rp_root/"
    fi
  done
  chmod -R a+rX "$rp_root"
fi
printf '#!/bin/sh\n# Written by scripts/ssh/start.sh: the rp of %s.\nexec %s %s/bin/run.js "$@"\n' \
  "$rp_root" "$node_bin" "$rp_root" >"$state/bin/rp"
chmod 755 "$state/bin/rp"

rp_home=$state/rp-home
if [ ! -f "$rp_home/config.json" ]; then
  say "rp host init (RP_HOME=$rp_home)"
  RP_HOME=$rp_home "$node_bin" "$repo/bin/run.js" host init >/dev/null
fi
# The user's folder for remote projects is made by rp itself (`rp remote add --path`); the home
# must exist and be the user's.
[ -d "$home" ] || die "the home of $user ($home) is missing"

# --- 5. sshd -------------------------------------------------------------------------------------
conf=$state/sshd_config
conf_text="# Written by scripts/ssh/start.sh: a private sshd for rp's remote tests.
Port $port
ListenAddress 127.0.0.1
HostKey $state/keys/host_ed25519
PidFile $state/sshd.pid
AuthorizedKeysFile $state/keys/authorized_keys_%u
AllowUsers $user
PermitRootLogin no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
X11Forwarding no
AllowTcpForwarding no
# Enough sessions on one multiplexed connection for the tests' parallel steps.
MaxSessions 32
MaxStartups 32:30:64
ClientAliveInterval 15
SetEnv RP_HOME=$rp_home PATH=$state/bin:/usr/local/bin:/usr/bin:/bin
"
changed=
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$(printf '%s' "$conf_text")" ]; then
  printf '%s' "$conf_text" >"$conf"
  changed=1
fi
chmod 644 "$conf"
mkdir -p /run/sshd
chmod 755 /run/sshd
/usr/sbin/sshd -t -f "$conf" || die "sshd refuses its configuration $conf"

# Whether process $1 runs a command line holding $2: a pid file can outlive its process, and on a
# machine that has run for long its number may belong to another process by now.
runs() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"; }
alive() { [ -f "$state/sshd.pid" ] && runs "$(cat "$state/sshd.pid")" "$conf"; }
if [ -n "$changed" ] && alive; then
  say "configuration changed: restarting sshd"
  kill "$(cat "$state/sshd.pid")"
  for _ in $(seq 1 50); do
    alive || break
    sleep 0.1
  done
fi
if ! alive; then
  say "starting sshd on 127.0.0.1:$port (log: $state/sshd.log)"
  # In the foreground (-D) under setsid rather than daemonizing itself: the daemon's own double fork
  # leaves a zombie here, where PID 1 does not reap orphans (as scripts/slurm/start.sh does).
  setsid nohup /usr/sbin/sshd -D -f "$conf" -E "$state/sshd.log" </dev/null >/dev/null 2>&1 &
fi

# --- 6. the client's side ------------------------------------------------------------------------
cat >"$state/client/config" <<EOF
# Written by scripts/ssh/start.sh: the test server as an ~/.ssh/config alias would name it.
Host $alias_name
  HostName 127.0.0.1
  Port $port
  User $user
  IdentityFile $state/client/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $state/client/known_hosts
  StrictHostKeyChecking yes
  LogLevel ERROR
EOF
chmod 600 "$state/client/config"

deadline=$((SECONDS + wait_s))
until out=$(ssh -F "$state/client/config" -o BatchMode=yes -o ConnectTimeout=5 "$alias_name" 'rp --version' 2>&1); do
  if [ $SECONDS -ge $deadline ]; then
    say "no login to $user@127.0.0.1:$port within ${wait_s} s: $out"
    tail -n 20 "$state/sshd.log" >&2 || true
    exit 1
  fi
  sleep 0.2
done
case "$out" in
  rp/*) ;;
  *) die "logged in, but rp does not answer there: $out" ;;
esac

echo "RP_SSH_CONFIG=$state/client/config"
echo "RP_SSH_ALIAS=$alias_name"
echo "RP_SSH_USER=$user"
echo "RP_SSH_HOME=$home"
echo "RP_SSH_PORT=$port"
echo "RP_SSH_IDENTITY=$state/client/id_ed25519"
echo "RP_SSH_RP_HOME=$rp_home"
echo "RP_SSH_LOG=$state/sshd.log"
echo "RP_SSH_PID=$(cat "$state/sshd.pid" 2>/dev/null || true)"
