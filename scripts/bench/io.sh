#!/usr/bin/env bash
# I/O benchmark: fio (4k random QD1/QD32, 1M sequential, O_DIRECT, libaio) on a raw and a qcow2 virtio-blk
# disk, and iperf3 TCP both ways over virtio-net on a tap, all inside one booted test guest. The host side
# of the tap lives in a network namespace this script creates and deletes.
# Usage: scripts/bench/io.sh [RUNS]   (default 3 runs per measurement; medians printed as Markdown)
# IO_MEASURE=fio or IO_MEASURE=iperf3 runs only that part.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x "$(command -v swift)" ] || export PATH="/opt/swift/usr/bin:$PATH"
runs=${1:-3}
guest=$(scripts/guest/build.sh | tail -1)
tools=$(scripts/guest/tools-disk.sh | tail -1)
swift build -c release --static-swift-stdlib --product swiftvirt >&2
work=$(mktemp -d /tmp/svbench.XXXXXX)
export NETNS=svbench-$$
cleanup() { ip netns delete "$NETNS" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
truncate -s 1G "$work/test.raw"
qemu-img create -q -f qcow2 -o preallocation=metadata "$work/test.qcow2" 1G
ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
ip -n "$NETNS" tuntap add dev svtap0 mode tap vnet_hdr
ip -n "$NETNS" addr add 10.0.2.1/24 dev svtap0
ip -n "$NETNS" link set svtap0 up
cmdline="console=ttyS0 8250.nr_uarts=1 panic=-1"
python3 scripts/bench/io_measure.py "$runs" ip netns exec "$NETNS" .build/release/swiftvirt run \
  --kernel "$guest/vmlinux" --initrd "$guest/initramfs.cpio.gz" --cmdline "$cmdline" --memory 512M --cpus 2 \
  --disk "path=$tools,readonly=on" --disk "path=$work/test.raw,format=raw" \
  --disk "path=$work/test.qcow2,format=qcow2" --net tap=svtap0 --rng
