#!/usr/bin/env bash
# Fetches Debian's stock kernel (linux-image-6.1.0-*-amd64, the newest the archive offers) into the cache, for
# trying SwiftVirt on an unmodified distribution kernel: the bzImage, and the ELF vmlinux inside it (extracted
# with the kernel tree's scripts/extract-vmlinux) for a PVH boot that skips the bzImage's XZ decompressor,
# which runs with interrupts off and so crawls on software-KVM hosts. Prints the vmlinux path.
# Not used by the test suite: on software-KVM hosts the stock kernel boots far slower (docs/decisions/0003).
set -euo pipefail
cache=${SWIFTVIRT_CACHE:-$HOME/.cache/swiftvirt}/stock-kernel
mkdir -p "$cache"
package=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -1)
[ -n "$package" ] || { echo "stock-kernel: no linux-image-6.1.0-*-amd64 in apt's lists: run apt-get update" >&2; exit 1; }
target="$cache/$package.bzImage"
if [ ! -s "$target" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && apt-get download "$package" >&2 && dpkg-deb -x ./*.deb root)
  cp "$work"/root/boot/vmlinuz-* "$target.partial"
  mv "$target.partial" "$target"
fi
vmlinux="$cache/$package.vmlinux"
if [ ! -s "$vmlinux" ]; then
  extract=$(mktemp)
  tar -xOf /usr/src/linux-source-6.1.tar.xz linux-source-6.1/scripts/extract-vmlinux > "$extract"
  bash "$extract" "$target" > "$vmlinux.partial"
  rm -f "$extract"
  mv "$vmlinux.partial" "$vmlinux"
fi
echo "$vmlinux"
