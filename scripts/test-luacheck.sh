#!/usr/bin/env bash
# Shows that `make luacheck` fails a bad script: each test/lua/*.lua goes
# through the same steps as the real ones (scripts/lua-scripts.awk joins its
# preludes and body, luacheck reads the result with lib/redis-scripts/
# .luacheckrc) and must be refused with the message its `-- expect:` line
# names.  Run by `make luacheck`, from the repository's root.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

config=lib/redis-scripts/.luacheckrc
preludes=(lib/redis-scripts/prelude/*.lua)
work=$(mktemp -d "${TMPDIR:-/tmp}/chatd-luacheck.XXXXXX")
trap 'rm -rf "$work"' EXIT

passed=0 failed=0
for bad in test/lua/*.lua; do
    name=$(basename "$bad" .lua)
    expect=$(sed -n 's/^-- expect: //p' "$bad")
    if [[ -z $expect ]]; then
        echo "test-luacheck: $bad has no '-- expect:' line" >&2
        exit 1
    fi
    mkdir -p "$work/$name"
    awk -v mode=lint -v out="$work/$name" -f scripts/lua-scripts.awk "${preludes[@]}" "$bad"
    if out=$(luacheck --no-color --config "$config" "$work/$name/$name.lua" 2>&1); then
        echo "not ok $name: luacheck passed it"
        failed=$((failed + 1))
    elif ! grep -qF -- "$expect" <<<"$out"; then
        echo "not ok $name: refused, but not for \"$expect\":"
        echo "$out"
        failed=$((failed + 1))
    else
        echo "ok $name: refused for \"$expect\""
        passed=$((passed + 1))
    fi
done
echo "luacheck: $passed passed, $failed failed"
((failed == 0))
