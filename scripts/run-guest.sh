#!/usr/bin/env bash
# From a fresh Debian 12 machine to a shell in the test guest: install, build SwiftVirt (release), build
# the guest, boot it with the serial console on this terminal. Ctrl-A x quits; `poweroff` in the guest too.
# Extra arguments go to `swiftvirt run` (e.g. --cpus 1, --kernel PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x "$(command -v swift)" ] || export PATH="/opt/swift/usr/bin:$PATH"

scripts/setup.sh
GUEST_DIR=$(scripts/guest/build.sh | tail -1)
swift build -c release --static-swift-stdlib --product swiftvirt
exec .build/release/swiftvirt run \
    --kernel "$GUEST_DIR/vmlinux" --initrd "$GUEST_DIR/initramfs.cpio.gz" \
    --cmdline "console=ttyS0 8250.nr_uarts=1 panic=-1" --memory 256M --cpus 2 "$@"
