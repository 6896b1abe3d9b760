#!/usr/bin/env bash
# Builds the guest's tools disk: an ext4 image holding Debian's dynamically linked tools the busybox
# initramfs lacks (socat for vsock, mke2fs/e2fsck, iperf3, fio) with every shared library they load,
# at their usual paths. The guest mounts it and copies it over its root (see initramfs/init's
# `tools` helper), so the initramfs stays small: unpacking it is slow on software KVM.
# Output: ${SWIFTVIRT_CACHE:-~/.cache/swiftvirt}/tools/<key>/tools.ext4; the last stdout line is its path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${SWIFTVIRT_CACHE:-$HOME/.cache/swiftvirt}/tools
packages=(socat e2fsprogs iperf3 fio libc-bin)
binaries=(/usr/bin/socat /sbin/mke2fs /sbin/e2fsck /usr/bin/iperf3 /usr/bin/fio)
say() { echo "tools: $*" >&2; }
die() { echo "tools: error: $*" >&2; exit 1; }

for p in "${packages[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = 'install ok installed' ] || die "missing $p -- run scripts/setup.sh"
done
key=$({ cat "$here/tools-disk.sh"; dpkg-query -W "${packages[@]}" libc6; } | sha256sum | cut -c1-12)
dest=$cache/$key
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [ -s "$dest/tools.ext4" ]; then echo "$dest/tools.ext4"; exit 0; fi

work=$(mktemp -d "$cache/.build-$key.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"
copy() { mkdir -p "$root$(dirname "$1")"; cp -L "$1" "$root$1"; }
for b in "${binaries[@]}"; do
  copy "$b"
  # Every library the dynamic loader resolves, and the loader itself.
  ldd "$b" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | while read -r lib; do
    [ -e "$root$lib" ] || copy "$lib"
  done
done
# Run in the guest after mounting the disk at /mnt/tools: makes the loader and libraries visible
# at the paths the binaries were linked against, and the tools reachable from PATH.
cat >"$root/setup" <<'SETUP'
#!/bin/sh
t=/mnt/tools
mkdir -p /lib /usr/lib /usr/local
ln -sfn $t/lib64 /lib64
ln -sfn $t/lib/x86_64-linux-gnu /lib/x86_64-linux-gnu
ln -sfn $t/usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu
ln -sfn $t/usr/bin /usr/local/bin
ln -sfn $t/sbin /usr/local/sbin
echo tools-ready
SETUP
chmod +x "$root/setup"
ln -s mke2fs "$root/sbin/mkfs.ext4"
ln -s e2fsck "$root/sbin/fsck.ext4"
# Enough room for the files and ext4's metadata; sparse on the host.
size_kib=$(( $(du -sk "$root" | cut -f1) * 3 / 2 + 16384 ))
mke2fs -q -t ext4 -L swiftvirt-tools -d "$root" "$work/tools.ext4" "${size_kib}k" >&2
mkdir -p "$dest"
mv "$work/tools.ext4" "$dest/tools.ext4"
say "built $dest/tools.ext4 ($(du -sh "$dest/tools.ext4" | cut -f1) used)"
echo "$dest/tools.ext4"
