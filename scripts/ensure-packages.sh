#!/usr/bin/env bash
# Installs Debian packages whose program is missing: ensure-packages.sh zsh=zsh chromium=chromium
# (PROGRAM=PACKAGE; the program is looked up on PATH). Root and apt-get are needed only when
# something is missing; apt's output is shown only when the install fails.
set -euo pipefail
say() { echo "ensure-packages: $*" >&2; }

missing=()
for pair in "$@"; do
  program=${pair%%=*}
  package=${pair#*=}
  command -v "$program" >/dev/null 2>&1 || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

[ "$(id -u)" = 0 ] || { say "missing ${missing[*]}: run as root to install them"; exit 1; }
command -v apt-get >/dev/null 2>&1 || { say "missing ${missing[*]} and no apt-get to install them"; exit 1; }
say "installing ${missing[*]}"
log=$(mktemp)
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  say "installing ${missing[*]} failed:"
  tail -n 20 "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
