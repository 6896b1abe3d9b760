#!/usr/bin/env bash
# Boot benchmark: SwiftVirt vs QEMU microvm on the same kernel, initrd, command line, memory and vCPUs.
# Per run: host-clock seconds from process start to the guest's /init marker (SWIFTVIRT-INIT), VMM
# overhead (peak RSS minus the guest RAM it touched), CPU seconds, and for SwiftVirt the milliseconds from
# process start to the boot vCPU's first KVM_RUN. Prints medians of RUNS runs (default 5) as Markdown.
# Usage: scripts/bench/boot.sh [RUNS]     (KERNEL=bzImage to boot the bzImage instead of the PVH vmlinux)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x "$(command -v swift)" ] || export PATH="/opt/swift/usr/bin:$PATH"
runs=${1:-5}
guest=$(scripts/guest/build.sh | tail -1)
kernel="$guest/${KERNEL:-vmlinux}"
initrd="$guest/initramfs.cpio.gz"
memory_mib=256
cmdline="console=ttyS0 8250.nr_uarts=1 panic=-1"
qemu_cmdline="$cmdline"
# On a software-KVM host SwiftVirt adds its own arguments (HostProfile.guestKernelArguments). QEMU gets
# what it needs there: the same features hidden, and `noxsave`, since it cannot complete the kernel's
# xsave/xrstor with interrupts off as SwiftVirt does.
if [ -d /sys/module/kvm_pvm ]; then
  qemu_cmdline="noxsave nofsgsbase mitigations=off clearcpuid=cx16,popcnt,rdrand,rdseed,invpcid,rdpid,rdtscp,smap tsc=reliable $cmdline"
fi
swift build -c release --static-swift-stdlib --product swiftvirt >&2
results=$(mktemp -d)
measure="python3 scripts/bench/boot_measure.py SWIFTVIRT-INIT"
# A point both VMMs reach on a software-KVM host (QEMU stops at the int3 self-test right after it).
export MILESTONE="x86/fpu: "

for i in $(seq "$runs"); do
  echo "swiftvirt run $i/$runs" >&2
  $measure 900 $memory_mib .build/release/swiftvirt run --kernel "$kernel" --initrd "$initrd" \
    --cmdline "$cmdline" --memory ${memory_mib}M --cpus 1 --verbose >> "$results/swiftvirt.jsonl"
done
# QEMU needs the same features hidden; on kvm_pvm its KVM_SET_MSRS of IA32_ARCH_CAPABILITIES also fails.
for i in $(seq "$runs"); do
  echo "qemu run $i/$runs" >&2
  $measure 900 $memory_mib qemu-system-x86_64 -M microvm,rtc=off -enable-kvm \
    -cpu host,-xsave,-smap,-arch-capabilities -smp 1 -m $memory_mib -nographic -nodefaults \
    -serial stdio -kernel "$kernel" -initrd "$initrd" -append "$qemu_cmdline" >> "$results/qemu.jsonl"
done

python3 - "$results" <<'PY'
import json, statistics, sys, os
d = sys.argv[1]
def load(name):
    return [json.loads(l) for l in open(os.path.join(d, name)) if l.strip()]
ours, qemu = load("swiftvirt.jsonl"), load("qemu.jsonl")
def med(rows, key):
    values = [r[key] for r in rows if key in r]
    return statistics.median(values) if values else None
def fmt(v, unit=""):
    return "—" if v is None else f"{v:.2f}{unit}"
print(f"| metric (median of {len(ours)} runs) | SwiftVirt | QEMU 7.2 microvm | ratio |")
print("|---|---|---|---|")
for key, label in [("seconds_to_milestone", "process start → kernel's `x86/fpu:` line (s)"),
                   ("seconds_to_marker", "process start → /init marker (s)"),
                   ("vmm_overhead_mib", "VMM overhead: peak RSS − guest RAM touched (MiB)"),
                   ("cpu_user_s", "CPU user (s)"), ("cpu_system_s", "CPU system (s)"),
                   ("ms_to_first_instruction", "process start → first KVM_RUN (ms)")]:
    a, b = med(ours, key), med(qemu, key)
    ratio = f"{a / b:.2f}×" if a is not None and b else "—"
    print(f"| {label} | {fmt(a)} | {fmt(b)} | {ratio} |")
failures = [r for r in ours + qemu if not r.get("ok")]
for name, rows in (("SwiftVirt", ours), ("QEMU", qemu)):
    bad = [r for r in rows if not r.get("ok")]
    if bad:
        times = [r["seconds_to_failure"] for r in bad if "seconds_to_failure" in r]
        when = f"median {statistics.median(times):.1f} s after start" if times else f"timed out after {bad[0].get('seconds')} s"
        print(f"\n{name}: {len(bad)}/{len(rows)} runs did not reach /init ({when}): "
              f"`{bad[0].get('error', '')[:500]}`")
print("\nraw results:", d)
PY
