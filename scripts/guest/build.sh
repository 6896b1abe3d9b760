#!/usr/bin/env bash
# Builds the SwiftVirt test guest (minimal Linux + busybox initramfs) from Debian packages
# into ${SWIFTVIRT_CACHE:-~/.cache/swiftvirt}/guest/<key>/, outside the clone, so that
# nothing built or fetched lands in git. <key> hashes every input, so a changed input gets
# a fresh directory and an unchanged one is reused without building.
# Usage: GUEST=$(scripts/guest/build.sh | tail -1)   (progress goes to stderr)
# Env: SWIFTVIRT_CACHE (cache root), JOBS (make -j, default nproc).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment=$here/kernel.config
rootfs=$here/initramfs
tarball=/usr/src/linux-source-6.1.tar.xz
cache=${SWIFTVIRT_CACHE:-$HOME/.cache/swiftvirt}/guest
outputs=(vmlinux bzImage initramfs.cpio.gz config build.log System.map initramfs.list)
say() { echo "guest: $*" >&2; }
die() { echo "guest: error: $*" >&2; exit 1; }

# Fail early and clearly when the host is missing what we build from.
missing=()
for p in linux-source-6.1 busybox-static build-essential bc flex bison libelf-dev libssl-dev xz-utils lz4; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = 'install ok installed' ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] || die "missing Debian packages: ${missing[*]} -- run scripts/setup.sh"
[ -r "$tarball" ] || die "$tarball not found -- run scripts/setup.sh"
[ -x /bin/busybox ] || die "/bin/busybox not found -- run scripts/setup.sh"

# Cache key: this script, the fragment, the initramfs files (name, exec bit, content) and
# the exact Debian package versions we build from. Only the exec bit is hashed because
# git does not keep other mode bits (umask would otherwise change the key).
key=$({
  cat "$here/build.sh" "$fragment"
  cd "$rootfs" && find . -type f | LC_ALL=C sort | while IFS= read -r f; do
    [ -x "$f" ] && x=x || x=-; echo "$f $x $(sha256sum <"$f")"
  done
  dpkg-query -W linux-source-6.1 busybox-static
} | sha256sum | cut -c1-12)
dest=$cache/$key

complete() { local f; for f in "${outputs[@]}"; do [ -s "$1/$f" ] || return 1; done; }
publish() { ln -sfn "$key" "$cache/.current.$$" && mv -T "$cache/.current.$$" "$cache/current"; echo "$dest"; }

mkdir -p "$cache"
# Serialize concurrent callers (e.g. parallel test processes) so only one builds.
exec 9>"$cache/.lock"
flock 9
if complete "$dest"; then publish; exit 0; fi
rm -rf "$cache"/.build-*   # leftovers of killed builds; safe while we hold the lock

work=$(mktemp -d "$cache/.build-$key.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/out"
log=$work/out/build.log
# Run a build step with its output in build.log; on failure keep the log and show its tail.
run() {
  "$@" >>"$log" 2>&1 && return
  cp "$log" "$cache/failed-build.log"
  tail -n 40 "$log" >&2
  die "'$*' failed; full log: $cache/failed-build.log"
}
start=$SECONDS
jobs=${JOBS:-$(nproc)}
export KBUILD_BUILD_USER=swiftvirt KBUILD_BUILD_HOST=swiftvirt
kmake() { run make -C "$src" ARCH=x86_64 "$@"; }

say "building $dest (log: $log)"
src=$work/src
mkdir "$src"
run tar -xf "$tarball" -C "$src" --strip-components=1

# Kernel config: tinyconfig, then our fragment, then let Kconfig resolve dependencies.
kmake tinyconfig
(cd "$src" && run scripts/kconfig/merge_config.sh -m .config "$fragment")
kmake olddefconfig

# olddefconfig silently drops options whose dependencies are unmet, so check that every
# `=y`/`=N` line of the fragment survived and every `is not set` line stayed off.
bad=()
while IFS= read -r line; do
  case $line in
    CONFIG_*=*) grep -qxF "$line" "$src/.config" ||
      bad+=("want $line, got $(grep -E "^${line%%=*}=" "$src/.config" || echo unset)") ;;
    "# CONFIG_"*" is not set") opt=${line#\# }; opt=${opt%% *}
      ! grep -qE "^$opt=" "$src/.config" || bad+=("want $opt off, got $(grep -E "^$opt=" "$src/.config")") ;;
  esac
done <"$fragment"
# Whole families that must stay out (they probe absent hardware or are Xen, not PVH).
while IFS= read -r line; do bad+=("unwanted $line"); done \
  < <(grep -E '^CONFIG_(RTC_CLASS|RTC_DRV_.*|XEN.*|SERIO|KEYBOARD_.*|MOUSE_.*|PTP_1588_CLOCK_KVM|X86_KERNEL_IBT|FTRACE|MODULES)=' "$src/.config" || true)
if [ ${#bad[@]} -gt 0 ]; then
  printf 'guest: config: %s\n' "${bad[@]}" >&2
  die "kernel config check failed: fix $fragment (a dependency is probably missing)"
fi
say "config check passed ($(grep -c '=y' "$src/.config") options =y); compiling with -j$jobs"

kmake -j"$jobs" vmlinux bzImage
[ -x "$src/usr/gen_init_cpio" ] || kmake usr/gen_init_cpio

# Initramfs description for gen_init_cpio: device nodes and applet symlinks are written
# straight into the archive (no root, no mknod, no `busybox --install` exec in the guest).
list=$work/out/initramfs.list
{
  echo "dir /dev 755 0 0"
  echo "nod /dev/console 600 0 0 c 5 1"
  echo "nod /dev/ttyS0 660 0 0 c 4 64"
  echo "dir /proc 755 0 0"
  echo "dir /sys 755 0 0"
  echo "dir /tmp 1777 0 0"
  echo "dir /root 700 0 0"
  for d in bin sbin usr usr/bin usr/sbin; do echo "dir /$d 755 0 0"; done
  echo "file /bin/busybox /bin/busybox 755 0 0"
  # --list-full prints paths such as bin/sh and sbin/init; linuxrc (no dir) is skipped.
  /bin/busybox --list-full | grep / | grep -vx bin/busybox | sed 's|.*|slink /& /bin/busybox 777 0 0|'
  (cd "$rootfs" && find . -mindepth 1 -type d | LC_ALL=C sort | sed 's|^\.\(.*\)|dir \1 755 0 0|')
  (cd "$rootfs" && find . -type f | LC_ALL=C sort | while IFS= read -r f; do
    [ -x "$f" ] && m=755 || m=644; echo "file ${f#.} $rootfs/${f#./} $m 0 0"
  done)
} >"$list"
"$src/usr/gen_init_cpio" -t 0 "$list" 2>>"$log" | gzip -9n >"$work/out/initramfs.cpio.gz"

cp "$src/vmlinux" "$src/System.map" "$work/out/"
cp "$src/arch/x86/boot/bzImage" "$work/out/bzImage"
cp "$src/.config" "$work/out/config"
echo "built in $((SECONDS - start)) s" >>"$log"
complete "$work/out" || die "build finished but outputs are missing in $work/out"

# Publish atomically: readers see either no directory or a complete one.
rm -rf "$dest"
mv -T "$work/out" "$dest"
say "done in $((SECONDS - start)) s"
publish
