#!/usr/bin/env bash
# Installs Debian's chromium when it is missing: the dashboard test (test/integration/
# serve-dashboard.integration.test.ts) drives it headless through playwright-core, which cannot
# download a browser of its own here. Idempotent; prints the browser's path. Needs root (apt).
#   RP_CHROMIUM   the browser to use instead (default /usr/bin/chromium)
set -euo pipefail
browser=${RP_CHROMIUM:-/usr/bin/chromium}
say() { echo "chromium/ensure: $*" >&2; }

if [ ! -x "$browser" ]; then
  [ "$(id -u)" = 0 ] || {
    say "$browser is missing; run as root to install it (apt-get install chromium)"
    exit 1
  }
  say "installing chromium (about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
[ -x "$browser" ] || {
  say "$browser is still missing after the install"
  exit 1
}
echo "$browser"
