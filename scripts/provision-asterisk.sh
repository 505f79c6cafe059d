#!/usr/bin/env bash
# Provision a real Asterisk (Debian sid, Asterisk 22) in a chroot for the test suite and the bench.
#
# Asterisk is not packaged for Debian bookworm, so we debootstrap a minimal sid tree with Asterisk in it
# into a cached folder outside the repository. Idempotent: a complete tree (marker file present and
# the asterisk binary runs) is reused in about a second; a missing or broken one is rebuilt.
#
#   bash scripts/provision-asterisk.sh            # provision (or reuse) the tree
#   CC_ASTERISK_ROOT=/some/dir bash scripts/...   # another place (default /var/cache/cc-asterisk/root)
#   CC_DEBIAN_MIRROR=http://...                   # another Debian mirror (default: the host's)
#   CC_ASTERISK_REBUILD=1                         # throw the cached tree away and build it again
#
# Also installs, when cheap, the host tools used to make IVR prompts (espeak-ng, sox).
# Needs root and Debian's package servers. Measured: about 1 minute on an idle 2-core machine (2-6 minutes
# under load), 345 MB; a cached tree is checked in about 0.1 s. Unattended: no input is read. Progress goes to stderr;
# the last line on stdout is the root folder. Exit status: 0 ok, 1 failure (with a message saying why).
set -euo pipefail

ROOT="${CC_ASTERISK_ROOT:-/var/cache/cc-asterisk/root}"
ROOT="${ROOT%/}"
# Bump when the package list or the post-install steps change: older trees are then rebuilt.
LAYOUT="cc-asterisk-2 asterisk asterisk-core-sounds-en-gsm asterisk-moh-opsound-gsm"
MARKER="$ROOT/.cc-provisioned"
PACKAGES="asterisk,asterisk-core-sounds-en-gsm,asterisk-moh-opsound-gsm"
export DEBIAN_FRONTEND=noninteractive
START=$(date +%s)

say() { printf 'provision-asterisk: %s\n' "$*" >&2; }
die() { printf 'provision-asterisk: ERROR: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap and chroot); run it as root or with sudo"
case "$ROOT" in
  /|/usr|/usr/*|/etc|/etc/*|/bin|/sbin|/lib*|/dev*|/proc*|/sys*|/home|/root) die "refusing to use $ROOT as the Asterisk root";;
  /*) ;;
  *) die "CC_ASTERISK_ROOT must be an absolute path, not $ROOT";;
esac

# Every mount point at or below a folder (from /proc/self/mountinfo, octal escapes decoded), deepest first.
mounts_under() {
  local dir
  dir=$(readlink -m "$1")
  awk '{print $5}' /proc/self/mountinfo | while read -r m; do
    m=$(printf '%b' "${m//\\/\\0}")
    case "$m" in "$dir"|"$dir"/*) printf '%s\n' "$m";; esac
  done | sort -r
}

# Unmount everything below a folder (left behind by an interrupted debootstrap or test run).
# Never touches anything outside it: the folder itself is checked not to be / or a host path above.
release_mounts() {
  local dir m
  dir=$(readlink -m "$1")
  [ "$dir" != / ] || die "refusing to unmount below /"
  for m in $(mounts_under "$dir"); do
    say "unmounting leftover $m"
    umount "$m" 2>/dev/null || umount -l "$m" || die "cannot unmount $m; unmount it by hand"
  done
}

remove_tree() {
  local dir=$1
  [ -e "$dir" ] || return 0
  release_mounts "$dir"
  if [ -n "$(mounts_under "$dir")" ]; then die "mounts remain below $dir; not deleting it"; fi
  rm -rf --one-file-system "$dir"
}

tree_ok() {
  [ -f "$MARKER" ] && [ "$(cat "$MARKER" 2>/dev/null)" = "$LAYOUT" ] &&
    [ -x "$ROOT/usr/sbin/asterisk" ] &&
    chroot "$ROOT" /usr/sbin/asterisk -V >/dev/null 2>&1
}

mkdir -p "$(dirname "$ROOT")"
# One provisioning at a time (parallel CI jobs, two developers' test runs).
exec 9>"$ROOT.lock"
if ! flock -w 900 9; then die "another provisioning of $ROOT still runs after 15 minutes"; fi

if [ "${CC_ASTERISK_REBUILD:-0}" != 1 ] && tree_ok; then
  say "reusing $ROOT ($(chroot "$ROOT" /usr/sbin/asterisk -V))"
else
  if [ -e "$ROOT" ]; then say "$ROOT is incomplete or outdated: rebuilding it"; fi

  apt_install() {
    if ! apt-get install -y -q --no-install-recommends "$@" >&2; then
      say "apt-get install $* failed; refreshing the package lists and trying again"
      apt-get update -q >&2 || die "apt-get update failed (is Debian's package server reachable?)"
      apt-get install -y -q --no-install-recommends "$@" >&2 || die "cannot install $* with apt-get"
    fi
  }
  if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap"
    apt_install debootstrap
  fi

  MIRROR="${CC_DEBIAN_MIRROR:-}"
  if [ -z "$MIRROR" ]; then
    MIRROR=$(grep -rhoE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)https?://[^[:space:]]+/debian/?' \
      /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null | grep -oE 'https?://[^[:space:]]+' | head -n1 || true)
    MIRROR=${MIRROR:-http://deb.debian.org/debian}
  fi

  BUILD="$ROOT.build"
  remove_tree "$BUILD"
  DB_PID=""
  # Stop debootstrap and everything it started (by process id), then release what it mounted.
  kill_tree() { local c; for c in $(pgrep -P "$1" 2>/dev/null); do kill_tree "$c"; done; kill -TERM "$1" 2>/dev/null || true; }
  cleanup() {
    if [ -n "$DB_PID" ] && kill -0 "$DB_PID" 2>/dev/null; then kill_tree "$DB_PID"; wait "$DB_PID" 2>/dev/null || true; fi
    release_mounts "$BUILD" 2>/dev/null || true
  }
  trap cleanup EXIT
  trap 'die "interrupted"' INT TERM
  say "debootstrap sid with $PACKAGES from $MIRROR into $BUILD (about a minute)"
  debootstrap --variant=minbase --include="$PACKAGES" sid "$BUILD" "$MIRROR" >"$BUILD.log" 2>&1 &
  DB_PID=$!
  if ! wait "$DB_PID"; then
    DB_PID=""
    tail -n 25 "$BUILD.log" >&2 || true
    die "debootstrap failed (full log: $BUILD.log); is $MIRROR reachable?"
  fi
  DB_PID=""
  release_mounts "$BUILD"
  [ -x "$BUILD/usr/sbin/asterisk" ] || die "debootstrap finished but $BUILD/usr/sbin/asterisk is missing"
  VERSION=$(chroot "$BUILD" /usr/sbin/asterisk -V 2>&1) || die "asterisk does not run in the chroot: $VERSION"
  # Downloaded .deb files are not needed any more (about a third of the size).
  rm -f "$BUILD"/var/cache/apt/archives/*.deb "$BUILD"/var/lib/apt/lists/*_Packages 2>/dev/null || true
  printf '%s\n' "$LAYOUT" >"$BUILD/.cc-provisioned"
  # A test run may still use the old tree (its run folder is named PID-...): wait for it to end.
  live_run() {
    local run pid
    for run in "$ROOT"/cc-runs/*/; do
      pid=$(basename "$run"); pid=${pid%%-*}
      case "$pid" in ''|*[!0-9]*) continue;; esac
      if [ -d "/proc/$pid" ]; then echo "$pid"; return 0; fi
    done
    return 1
  }
  waited=0
  while pid=$(live_run); do
    [ "$waited" = 0 ] && say "$ROOT is in use by process $pid (a test run); waiting for it to end"
    [ "$waited" -lt 900 ] || die "$ROOT is still in use by process $pid after 15 minutes; stop it and run this again"
    sleep 2; waited=$((waited + 2))
  done
  remove_tree "$ROOT"
  mv "$BUILD" "$ROOT"
  rm -f "$BUILD.log"
  trap - EXIT INT TERM
  say "built $ROOT ($VERSION)"
fi

# Prompt tools (text-to-speech and 8 kHz conversion) on the host, when cheap: never fatal.
if ! command -v espeak-ng >/dev/null 2>&1 || ! command -v sox >/dev/null 2>&1; then
  say "installing espeak-ng and sox for IVR prompts"
  if ! apt-get install -y -q --no-install-recommends espeak-ng sox >&2; then
    apt-get update -q >&2 && apt-get install -y -q --no-install-recommends espeak-ng sox >&2 ||
      say "warning: could not install espeak-ng/sox; 'cc ivr prompts build' will not work here"
  fi
fi

say "done in $(( $(date +%s) - START )) s; $(du -sh --one-file-system "$ROOT" 2>/dev/null | cut -f1) in $ROOT"
printf '%s\n' "$ROOT"
