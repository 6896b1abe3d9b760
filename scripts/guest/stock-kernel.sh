#!/usr/bin/env bash
# Fetches Debian's stock kernel (linux-image-6.1.0-*-amd64, the newest the archive offers) and extracts its
# bzImage into the cache, for trying SwiftVirt on an unmodified distribution kernel. Prints the bzImage path.
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
echo "$target"
