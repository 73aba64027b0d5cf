#!/usr/bin/env bash
# Install, from Debian's packages, whatever building and running chatd needs and
# is not installed yet.  `scripts/deps.sh test` adds what the test suites need,
# `scripts/deps.sh bench` what `make bench` needs.
#
# Made for Debian 12.  Idempotent and quiet: when everything is there it asks
# apt nothing and prints nothing; otherwise it runs `apt-get update` once,
# installs only the missing packages, and shows apt's output only on failure.
set -euo pipefail

usage() { echo "usage: $0 [test|bench]" >&2; exit 2; }

# What `make`, `make run` and the web build need.  redis-tools brings redis-cli,
# which scripts/run.sh uses to ping the Redis it starts.
RUN_PKGS=(
    build-essential pkg-config
    libmicrohttpd-dev libwslay-dev libhiredis-dev libcjson-dev
    libsodium-dev libcrypt-dev nettle-dev libunistring-dev
    redis-server redis-tools
    curl ca-certificates
)

# What `make test` needs on top: cmocka for the unit tests, clang and its
# runtimes for libFuzzer and the sanitizers (Debian 12's clang is 14), and
# Chromium for the browser tests, with a colour emoji font for reactions
# (the screenshots show them).
TEST_PKGS=(libcmocka-dev clang libclang-rt-14-dev chromium fonts-noto-color-emoji)
# The fleet suite's systemd and install tests (test/fleet/): socat receives
# the notify datagrams, systemd brings systemd-analyze (it verifies units
# without systemd running), mandoc and groff-base lint and render chatd(8).
TEST_PKGS+=(socat systemd mandoc groff-base)
# The Sentinel failover test: Redis replicas and three redis-sentinel.
TEST_PKGS+=(redis-sentinel)
# make luacheck lints the Redis scripts (lib/redis-scripts/) with luacheck.
TEST_PKGS+=(lua-check)
# The nginx fleet tests run the real nginx with the shipped site (their own
# process, their own ports; Debian's package also enables its own site on
# port 80) and make its certificate with openssl.
TEST_PKGS+=(nginx openssl)

# What `make bench` needs on top: gnuplot (without X) draws the latency plot.
# The Node.js peer's own packages come from npm (scripts/bench.sh runs npm ci).
BENCH_PKGS=(gnuplot-nox)

case "${1-}" in
    "")    wanted=("${RUN_PKGS[@]}") ;;
    test)  wanted=("${RUN_PKGS[@]}" "${TEST_PKGS[@]}") ;;
    bench) wanted=("${RUN_PKGS[@]}" "${BENCH_PKGS[@]}") ;;
    *)    usage ;;
esac

# Node.js: keep any node already on PATH (a newer one from NodeSource or nvm,
# say); installing Debian's over it would downgrade it, and NodeSource's
# package conflicts with Debian's npm.  Debian's pair comes in only when there
# is no node at all.
if ! command -v node >/dev/null; then
    wanted+=(nodejs)
    command -v npm >/dev/null || wanted+=(npm)
elif ! command -v npm >/dev/null; then
    echo "deps.sh: warning: node is installed but npm is not; install npm the way" \
         "node was installed (for Debian's nodejs: apt-get install npm)" >&2
fi

if ! command -v dpkg-query >/dev/null; then
    echo "deps.sh: not a Debian system; install these (or your system's equivalents):" \
         "${wanted[*]}" >&2
    exit 1
fi

missing=()
for pkg in "${wanted[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ $status == "install ok installed" ]] || missing+=("$pkg")
done

# Installs the packages named in "missing", as root or through sudo.
install_missing() {
    local as_root=()
    if ((EUID != 0)); then
        if ! command -v sudo >/dev/null; then
            echo "deps.sh: missing packages: ${missing[*]}" >&2
            echo "deps.sh: run this script as root (or install sudo) to install them" >&2
            exit 1
        fi
        as_root=(sudo)
    fi

    local log
    log=$(mktemp "${TMPDIR:-/tmp}/chatd-deps.XXXXXX")
    # env, not a plain assignment, so the variable survives sudo.  The lock
    # timeout waits out a boot-time unattended-upgrades instead of failing.
    local apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive
               apt-get -qq -o DPkg::Lock::Timeout=300)

    echo "deps.sh: installing ${missing[*]}" >&2
    if ! "${apt[@]}" update >>"$log" 2>&1 ||
       ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
        echo "deps.sh: apt-get failed; its output (also kept in $log):" >&2
        tail -n 40 "$log" >&2
        exit 1
    fi
    rm -f "$log"
}

# The web app needs Node.js 18 and the test suites 18.17 or newer (engines.node
# in web/package.json and test/package.json; scripts/node-test.mjs uses
# node:test/reporters): Debian 12's own nodejs (18.19, or 18.20 from
# bookworm-security) is enough.  A node older than that, put on PATH by other
# means, is worth a word now rather than a failure later.
readonly NODE_MIN_MAJOR=18 NODE_MIN_MINOR=17
check_node() {
    local version major minor
    version=$(node --version 2>/dev/null) || return 0
    IFS=. read -r major minor _ <<<"${version#v}"
    if ((major < NODE_MIN_MAJOR || (major == NODE_MIN_MAJOR && minor < NODE_MIN_MINOR))); then
        echo "deps.sh: warning: node $version is too old for the web app and the tests" \
             "(needs $NODE_MIN_MAJOR.$NODE_MIN_MINOR or newer); Debian 12's nodejs package is enough" >&2
    fi
}

if ((${#missing[@]} > 0)); then install_missing; fi
check_node
