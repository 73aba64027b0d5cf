#!/usr/bin/env bash
# Build the web app into web/dist/, the directory chatd serves (WEB_ROOT).
#
# `npm ci` when web/node_modules is missing or older than package-lock.json,
# then `npm run build` (Vite).  A tree without web/package.json has only a
# static web/index.html, which is copied as is.  Quiet on success; on failure
# npm's output is shown.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
web=$root/web

die() { echo "build-web.sh: $*" >&2; exit 1; }

if [[ ! -f $web/package.json ]]; then
    [[ -f $web/index.html ]] || die "neither web/package.json nor web/index.html exists"
    mkdir -p "$web/dist"
    cp "$web/index.html" "$web/dist/index.html"
    exit 0
fi

command -v npm >/dev/null || die "npm not found; run scripts/deps.sh"
[[ -f $web/package-lock.json ]] ||
    die "web/package-lock.json is missing: run 'npm install' in web/ and commit the lock file"

log=$(mktemp "${TMPDIR:-/tmp}/chatd-web.XXXXXX")
trap 'rm -f "$log"' EXIT
run_npm() {
    if ! (cd "$web" && npm "$@") >"$log" 2>&1; then
        cat "$log" >&2
        die "npm $* failed"
    fi
}

if [[ ! -d $web/node_modules || $web/package-lock.json -nt $web/node_modules ]]; then
    run_npm ci --no-audit --no-fund
    touch "$web/node_modules"   # now newer than the lock file it was installed from
fi
run_npm run build
