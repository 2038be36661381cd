#!/usr/bin/env bash
# `npm test`: set everything up, then run every test, the Docker integration tests included.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! bash scripts/setup.sh; then
  # Without an engine the Docker tests fail rather than skip under CI (see test/support/docker.ts);
  # outside CI, run what can run and say why the rest did not.
  if [ -n "${CI:-}" ]; then echo "test: setup failed" >&2; exit 1; fi
  echo "test: setup failed; the Docker integration tests will fail" >&2
fi
exec npx vitest run "$@"
