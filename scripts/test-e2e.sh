#!/usr/bin/env bash
# Browser tests: the built web app (web/dist) in Debian's headless Chromium,
# driven by playwright-core, against the real chatd and a real redis-server on
# loopback.  Builds nothing: `make` builds chatd and the web app first.
#   scripts/test-e2e.sh [test/e2e/x.test.mjs …]
#   CHATD_BIN=build-san/chatd CHROMIUM_BIN=/usr/bin/chromium scripts/test-e2e.sh
# Never downloads a browser: playwright-core only drives the one installed
# (scripts/deps.sh test installs Debian's chromium).
set -euo pipefail

die() { echo "test-e2e: $*" >&2; exit 1; }

# Test files given as arguments are relative to the caller's directory.
targets=()
for t in "$@"; do targets+=("$(realpath "$t")"); done
# CHATD_BIN, like the arguments, is relative to the caller's directory; the
# default is the repository's build/chatd.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CHATD_BIN="${CHATD_BIN:-$root/build/chatd}"
[[ -x $CHATD_BIN ]] || die "$CHATD_BIN is not an executable (make build/chatd)"
CHATD_BIN="$(realpath "$CHATD_BIN")"
export CHATD_BIN
cd "$root"

export CHROMIUM_BIN="${CHROMIUM_BIN:-/usr/bin/chromium}"
[[ -x $CHROMIUM_BIN ]] || die "$CHROMIUM_BIN not found: scripts/deps.sh test (apt-get install chromium)"
command -v redis-server >/dev/null || die "redis-server not found (make deps)"
grep -qs '/assets/' web/dist/index.html || die "web/dist holds no built web app: run make (scripts/build-web.sh)"

scripts/test-deps.sh test-e2e

[[ ${#targets[@]} -gt 0 ]] || targets=(test/e2e/)

echo "== browser tests ($CHATD_BIN, $("$CHROMIUM_BIN" --version 2>/dev/null | head -n 1))"
# Two files at a time: each runs its own Redis, chatd and Chromium.
node scripts/node-test.mjs --concurrency=2 --timeout=180000 "${targets[@]}"
