#!/usr/bin/env bash
# Proves README's promise on a really bare system: bootstraps a minimal
# Debian 12 (debootstrap --variant=minbase) into DIR, copies the repository's
# HEAD in, and there, as an ordinary user with sudo, runs `make run` until the
# web app answers on 127.0.0.1:8000, stops it, then runs `make test`.
# Everything the build and the tests need must come from scripts/deps.sh;
# this script adds only what deps.sh itself expects: make, and sudo.
# A maintainer's tool, not part of `make test`.  Needs root (debootstrap,
# chroot, mount) and network access to Debian's mirror and the npm registry.
#
#   sudo scripts/fresh-debian.sh [--keep] [--run-only] [DIR] [-- COMMAND…]
#
#   DIR         where the system goes (default /var/tmp/chatd-fresh-debian);
#               it must not exist unless --keep is given.
#   --keep      reuse DIR if it already holds a bootstrapped system (whatever
#               earlier runs installed there stays; the repository copy is
#               always fresh).  DIR is kept after every run, for a look
#               inside; rm -rf it when done (nothing stays mounted there).
#   --run-only  stop after the `make run` check.
#   COMMAND     run this shell command in the repository copy instead of the
#               `make run` check and `make test` (e.g. 'scripts/deps.sh test').
#
# The chroot shares the host's network: port 8000 and Redis's 6380 (make run)
# must be free.  Only committed files are copied (git archive HEAD).
set -euo pipefail

readonly SUITE=bookworm
readonly DEV=dev                      # the ordinary user inside
readonly RUN_PORT=8000 RUN_REDIS_PORT=6380
readonly RUN_WAIT_S=3600              # make run installs and builds first
readonly RUN_STOP_S=30

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "fresh-debian: $*" >&2; exit 1; }
say() { echo "== fresh-debian: $*" >&2; }
usage() { sed -n '11p' "${BASH_SOURCE[0]}" | sed 's/^# *//' >&2; exit 2; }

keep=0 run_only=0 dir=/var/tmp/chatd-fresh-debian command=()
while (($#)); do
    case $1 in
        --keep) keep=1 ;;
        --run-only) run_only=1 ;;
        --) shift; command=("$@"); break ;;
        -*) usage ;;
        *) dir=$1 ;;
    esac
    shift
done
((EUID == 0)) || die "must run as root (debootstrap, chroot and mount need it): sudo $0 $*"
[[ $dir == /* ]] || dir=$PWD/$dir
dir=${dir%/}
[[ -n $dir && $dir != / ]] || die "refusing to use / as the new system's root"

# Debian's mirror as this host's apt knows it (deb822 or one-line format);
# the security archive likewise, else Debian's default.
apt_uri() { # apt_uri PATTERN DEFAULT
    local uri
    uri=$( { sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources
             sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]*\).*/\2/p' \
                 /etc/apt/sources.list; } 2>/dev/null | grep -E "$1" | head -n 1 || true)
    echo "${uri:-$2}"
}
mirror=$(apt_uri '/debian/?$' http://deb.debian.org/debian)
security=$(apt_uri '/debian-security/?$' http://deb.debian.org/debian-security)

# ---- timing ---------------------------------------------------------------------------------
phase_name="" phase_start=0 timings=()
phase() { # phase NAME: ends the running phase, starts NAME
    if [[ -n $phase_name ]]; then
        timings+=("$(printf '%-22s %5d s' "$phase_name" $((SECONDS - phase_start)))")
    fi
    phase_name=$1 phase_start=$SECONDS
    [[ -z $1 ]] || say "$1"
}

# ---- mounts and clean-up --------------------------------------------------------------------
mounted=()   # mount points in DIR, in the order they were mounted
mount_in() { # mount_in TARGET MOUNT-ARGS…
    local target=$dir$1
    shift
    mkdir -p "$target"
    mount "$@" "$target"
    mounted+=("$target")
}

# The pids of the processes whose root is DIR: whatever runs inside.
chroot_pids() {
    local p
    for p in /proc/[0-9]*; do
        if [[ $(readlink "$p/root" 2>/dev/null) == "$dir" ]]; then echo "${p#/proc/}"; fi
    done
}

# Ends what still runs inside DIR (a Redis left behind, say), by pid; SIGKILL
# after a grace period.
stop_chroot_processes() {
    local sig pids
    for sig in TERM KILL; do
        mapfile -t pids < <(chroot_pids)
        ((${#pids[@]})) || return 0
        kill "-$sig" "${pids[@]}" 2>/dev/null || true
        [[ $sig == KILL ]] || sleep 3
    done
}

cleanup() {
    local status=$? i
    trap - EXIT INT TERM
    phase ""
    stop_chroot_processes
    for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
        umount "${mounted[i]}" 2>/dev/null || umount -l "${mounted[i]}" ||
            echo "fresh-debian: could not unmount ${mounted[i]}" >&2
    done
    if ((${#timings[@]})); then
        say "time per phase:"
        printf '   %s\n' "${timings[@]}" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs a command inside DIR as root.
in_root() { chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
# Runs a shell command inside DIR as the ordinary user, in the repository
# copy, with a login-like environment, SIGINT at its default as in a terminal
# (bash ignores it in a background job, and a shell started so cannot trap
# it: run.sh's Ctrl-C would be lost).
as_dev() {
    chroot --userspec="$(dev_ids)" "$dir" /usr/bin/env -i --default-signal=INT HOME="/home/$DEV" USER="$DEV" \
        LOGNAME="$DEV" SHELL=/bin/bash PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 \
        TERM="${TERM:-dumb}" /bin/bash -c "cd ~/chatd && $1"
}

# DEV's uid:gid, from DIR's own passwd (the host may have no such user).
dev_ids() { awk -F: -v u="$DEV" '$1 == u { print $3 ":" $4 }' "$dir/etc/passwd"; }

# as_dev in the background, waited for: bash runs a trap only once the
# foreground child has exited, but interrupts a `wait` at once, so a SIGTERM
# to this script cleans up (and ends what runs inside) without delay.
as_dev_waited() {
    as_dev "$1" &
    wait "$!"
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- the system -----------------------------------------------------------------------------
if ((keep)) && [[ -f $dir/etc/debian_version ]]; then
    say "reusing the system in $dir (Debian $(cat "$dir/etc/debian_version"))"
else
    [[ ! -e $dir ]] || die "$dir exists: remove it, or pass --keep to reuse it"
    command -v debootstrap >/dev/null || {
        say "installing debootstrap on this host"
        DEBIAN_FRONTEND=noninteractive apt-get -qq update
        DEBIAN_FRONTEND=noninteractive apt-get -qq install -y debootstrap >/dev/null
    }
    phase "debootstrap $SUITE from $mirror"
    debootstrap --variant=minbase "$SUITE" "$dir" "$mirror" >"$dir.debootstrap.log" 2>&1 ||
        { tail -n 20 "$dir.debootstrap.log" >&2; die "debootstrap failed (log: $dir.debootstrap.log)"; }
fi

phase "configure"
# What a fresh Debian 12 install has: the three archives, a hosts file.
cat >"$dir/etc/apt/sources.list" <<EOF
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb $security $SUITE-security main
EOF
cp /etc/resolv.conf "$dir/etc/resolv.conf"
# The CAs this host added locally (a site's proxy, say), as the site's fresh
# machines would have them: ca-certificates, which deps.sh installs, adds them
# to the system store that apt, curl and Debian's node use.
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    mkdir -p "$dir/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$dir/usr/local/share/ca-certificates/"
fi
host=$(hostname)
cat >"$dir/etc/hosts" <<EOF
127.0.0.1	localhost
127.0.1.1	$host
::1	localhost ip6-localhost ip6-loopback
EOF
mount_in /proc -t proc proc
mount_in /sys -t sysfs sysfs
# Private, so that nothing mounted below the bind reaches the host's /dev.
mount_in /dev --bind /dev
mount --make-private "$dir/dev"
mount_in /dev/pts --bind /dev/pts
mount_in /dev/shm -t tmpfs -o mode=1777,nosuid,nodev shm

# deps.sh's own prerequisites: make runs it, sudo lets the user install.
in_root apt-get -qq update
in_root env DEBIAN_FRONTEND=noninteractive apt-get -qq install -y --no-install-recommends \
    make sudo >/dev/null
[[ ! -x $dir/usr/sbin/update-ca-certificates ]] || in_root update-ca-certificates >/dev/null
in_root id -u "$DEV" >/dev/null 2>&1 || in_root useradd --create-home --shell /bin/bash "$DEV"
echo "$DEV ALL=(ALL:ALL) NOPASSWD: ALL" >"$dir/etc/sudoers.d/$DEV"
chmod 0440 "$dir/etc/sudoers.d/$DEV"

phase "copy the repository"
copy=$dir/home/$DEV/chatd
rm -rf "$copy"
mkdir -p "$copy"
git -C "$root" archive --format=tar HEAD | tar -x -C "$copy"
in_root chown -R "$DEV:$DEV" "/home/$DEV/chatd"
say "copied $(git -C "$root" rev-parse --short HEAD) into $copy"

if ((${#command[@]})); then
    phase "command: ${command[*]}"
    as_dev_waited "${command[*]}"
    exit 0
fi

# ---- make run: serve, answer, stop ----------------------------------------------------------
for p in "$RUN_PORT" "$RUN_REDIS_PORT"; do
    port_free "$p" || die "127.0.0.1:$p is in use; make run inside would collide with it"
done
phase "make run"
run_log=$dir/home/$DEV/make-run.log
# A session of its own, so that SIGINT to its process group is a Ctrl-C.
export DEV dir
export -f as_dev dev_ids
setsid bash -c "as_dev 'make run'" >"$run_log" 2>&1 &
run_pid=$!
web_app_answers() {
    local page
    page=$(in_root sh -c "command -v curl >/dev/null && curl -sf http://127.0.0.1:$RUN_PORT/" 2>/dev/null) || return 1
    [[ $page == *'/assets/'* ]]
}
answered=0
for ((i = 0; i < RUN_WAIT_S; i++)); do
    if web_app_answers; then
        answered=1
        break
    fi
    kill -0 "$run_pid" 2>/dev/null || break
    sleep 1
done
# Ctrl-C; stopped means nothing of make run's (chatd, its Redis) is left.
kill -INT -- "-$run_pid" 2>/dev/null || true
stopped=0
for ((i = 0; i < RUN_STOP_S; i++)); do
    [[ -n $(chroot_pids) ]] || { stopped=1; break; }
    sleep 1
done
wait "$run_pid" 2>/dev/null || true
if ((!answered)); then
    tail -n 40 "$run_log" >&2
    die "make run did not serve the web app on 127.0.0.1:$RUN_PORT (log: $run_log)"
fi
((stopped)) || die "make run served the web app but did not stop within ${RUN_STOP_S} s of Ctrl-C" \
    "(log: $run_log)"
say "make run served the web app on 127.0.0.1:$RUN_PORT and stopped on Ctrl-C"
((!run_only)) || exit 0

# ---- make test ------------------------------------------------------------------------------
phase "make test"
if ! as_dev_waited 'make test' > >(tee "$dir/home/$DEV/make-test.log") 2>&1; then
    die "make test failed (log: $dir/home/$DEV/make-test.log)"
fi
say "make test passed"
