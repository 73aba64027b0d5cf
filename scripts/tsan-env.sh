# ThreadSanitizer runs of the Node suites; sourced by scripts/test-protocol.sh
# and scripts/test-chat.sh, which call, for the binaries under test:
#
#   tsan_prepare BIN…  sets TSAN_ACTIVE=1 when any BIN links ThreadSanitizer's
#                      runtime, and checks that such a binary starts: some
#                      kernels map memory where TSan does not expect it
#                      ("unexpected memory mapping"); then the suites run under
#                      `setarch -R` (no address randomization, inherited by
#                      every process they start), kept in TSAN_RUN
#   tsan_begin NAME    a fresh report directory, and TSAN_OPTIONS pointing
#                      log_path into it (exported: the test harnesses hand it
#                      to every chatd and chatd-conformance they start)
#   tsan_end           0 if no process wrote a report; otherwise prints the
#                      distinct reports (one per pair of stack tops, with a
#                      count) and returns 1
#
# Reports go to files, not to stderr, because the suites keep only the tail of
# a server's stderr and show it only when a test fails; a file per process
# (log_path.<pid>) catches every report of every process, also of one that was
# SIGKILLed on purpose.  A process that reported also exits 66 (TSan's
# exitcode), which the harness's stop() turns into a failed test as well.
#
# Suppressions: test/tsan.supp, for races inside uninstrumented libraries
# only, each entry with its reason (docs/testing.md).

TSAN_ACTIVE=0
TSAN_RUN=()
TSAN_DIR=
TSAN_SUPP="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/tsan.supp"

tsan_prepare() {
    local bin out
    for bin in "$@"; do
        ldd "$bin" 2>/dev/null | grep -q 'libtsan\|libclang_rt\.tsan' && TSAN_ACTIVE=1
    done
    ((TSAN_ACTIVE)) || return 0
    [[ -f $TSAN_SUPP ]] || { echo "tsan: $TSAN_SUPP is missing" >&2; return 1; }
    out=$("$1" --version 2>&1) && return 0
    if grep -q 'unexpected memory mapping' <<<"$out"; then
        TSAN_RUN=(setarch "$(uname -m)" -R)
        if out=$("${TSAN_RUN[@]}" "$1" --version 2>&1); then
            echo "== ThreadSanitizer: this kernel's address layout needs setarch -R; running under it"
            return 0
        fi
    fi
    echo "tsan: $1 --version fails under ThreadSanitizer:" >&2
    echo "$out" >&2
    return 1
}

tsan_begin() {
    ((TSAN_ACTIVE)) || return 0
    TSAN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/chatd-tsan-$1.XXXXXX")
    export TSAN_OPTIONS="log_path=$TSAN_DIR/tsan suppressions=$TSAN_SUPP history_size=4 second_deadlock_stack=1"
}

tsan_end() {
    ((TSAN_ACTIVE)) || return 0
    local files=("$TSAN_DIR"/tsan.*)
    if [[ ! -e ${files[0]} ]]; then
        rmdir "$TSAN_DIR"
        return 0
    fi
    echo "== ThreadSanitizer: ${#files[@]} process(es) reported; the distinct reports:" >&2
    # A report is the text between two "=====" lines; its key is the first
    # frame of each of its first two stacks (the two accesses of a race).
    awk '
        function flush(   key) {
            key = top[1] " | " top[2]
            if (!(key in count)) { order[++n] = key; text[key] = blk }
            count[key]++
        }
        /^==================$/ {
            if (inblk) { flush(); inblk = 0 } else { inblk = 1; blk = ""; ntop = 0; delete top }
            next
        }
        inblk {
            blk = blk $0 "\n"
            if ($1 == "#0" && ntop < 2) { line = $0; sub(/ \([^)]*\)$/, "", line); sub(/^ *#0 /, "", line); top[++ntop] = line }
            next
        }
        !/^ThreadSanitizer: reported [0-9]+ warnings$/ && NF { other[$0]++ }
        END {
            for (i = 1; i <= n; i++) {
                printf "---- report %d of %d, seen %d time(s): %s\n%s\n", i, n, count[order[i]], order[i], text[order[i]]
            }
            for (l in other) printf "---- other output (%d time(s)): %s\n", other[l], l
        }' "${files[@]}" >&2
    echo "== ThreadSanitizer: the raw reports are in $TSAN_DIR" >&2
    return 1
}
