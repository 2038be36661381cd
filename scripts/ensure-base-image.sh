#!/usr/bin/env bash
# Makes sure the local base image rp-base:bookworm (Debian minbase with bash and useradd) exists.
# Tests and the demo build on it because nothing can be pulled from a registry on these machines.
# When it is missing: pull debian:bookworm-slim if a registry answers, else build it from Debian's
# package mirror with debootstrap piped into `docker import` (about 30 s).
set -euo pipefail

image=${RP_BASE_IMAGE:-rp-base:bookworm}
mirror=${RP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
say() { echo "ensure-base-image: $*" >&2; }

if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi

if timeout 30 docker pull -q debian:bookworm-slim >/dev/null 2>&1; then
  docker tag debian:bookworm-slim "$image"
  say "tagged debian:bookworm-slim as $image"
  exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing debootstrap"
    apt_log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a apt-get install -y -qq debootstrap; } >"$apt_log" 2>&1; then
      say "installing debootstrap failed:"; tail -n 20 "$apt_log" >&2; exit 1
    fi
    rm -f "$apt_log"
  else
    say "cannot make $image: no registry answers and debootstrap is missing (sudo apt-get install debootstrap)."
    exit 1
  fi
fi

if [ "$(id -u)" != 0 ]; then
  say "cannot make $image: debootstrap needs root. Run this script as root once."
  exit 1
fi

work=$(mktemp -d /tmp/rp-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
say "building $image with debootstrap from $mirror (about 30 s)"
if ! debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
  say "debootstrap failed; its log ends with:"
  tail -n 20 "$work/debootstrap.log" >&2
  exit 1
fi
tar -C "$work/rootfs" -c . | docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' -c 'CMD ["bash"]' - "$image" >/dev/null
say "made $image"
