#!/usr/bin/env bash
# Transport benchmark: the same guest booted with its virtio devices over virtio-mmio and over
# virtio-pci. Per run: host-clock seconds from process start to the guest's /init marker (every
# virtio driver has probed by then: they are built in), VMM overhead and CPU seconds
# (scripts/bench/boot_measure.py). Devices: one raw disk and virtio-rng. Prints medians of RUNS runs.
# Usage: scripts/bench/transport.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x "$(command -v swift)" ] || export PATH="/opt/swift/usr/bin:$PATH"
runs=${1:-3}
guest=$(scripts/guest/build.sh | tail -1)
memory_mib=256
cmdline="console=ttyS0 8250.nr_uarts=1 panic=-1"
swift build -c release --static-swift-stdlib --product swiftvirt >&2
results=$(mktemp -d)
disk=$results/disk.raw
truncate -s 64M "$disk"
measure="python3 scripts/bench/boot_measure.py SWIFTVIRT-INIT"

# Alternate the transports so a change in the host's load hits both alike.
for i in $(seq "$runs"); do
  for transport in mmio pci; do
    echo "$transport run $i/$runs" >&2
    $measure 900 $memory_mib .build/release/swiftvirt run --kernel "$guest/vmlinux" \
      --initrd "$guest/initramfs.cpio.gz" --cmdline "$cmdline" --memory ${memory_mib}M --cpus 1 \
      --transport $transport --disk path="$disk" --rng >> "$results/$transport.jsonl"
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys, os
d = sys.argv[1]
def load(name):
    return [json.loads(l) for l in open(os.path.join(d, name)) if l.strip()]
mmio, pci = load("mmio.jsonl"), load("pci.jsonl")
def med(rows, key):
    values = [r[key] for r in rows if r.get("ok") and key in r]
    return statistics.median(values) if values else None
def fmt(v):
    return "—" if v is None else f"{v:.2f}"
print(f"| metric (median of {len(mmio)} runs) | virtio-mmio | virtio-pci | pci / mmio |")
print("|---|---|---|---|")
for key, label in [("seconds_to_marker", "process start → /init marker (s)"),
                   ("vmm_overhead_mib", "VMM overhead: peak RSS − guest RAM touched (MiB)"),
                   ("cpu_user_s", "CPU user (s)"), ("cpu_system_s", "CPU system (s)")]:
    a, b = med(mmio, key), med(pci, key)
    ratio = f"{b / a:.2f}×" if a and b is not None else "—"
    print(f"| {label} | {fmt(a)} | {fmt(b)} | {ratio} |")
for name, rows in (("mmio", mmio), ("pci", pci)):
    bad = [r for r in rows if not r.get("ok")]
    if bad:
        print(f"\n{name}: {len(bad)}/{len(rows)} runs did not reach /init: `{bad[0].get('error', '')[:300]}`")
print("\nraw results:", d)
PY
