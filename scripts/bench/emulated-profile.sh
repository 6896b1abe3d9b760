#!/usr/bin/env bash
# Where a guest's time goes on a software-KVM host (kvm_pvm): every instruction KVM's emulator runs
# (guest code with interrupts off) is a kvm:kvm_emulate_insn trace event with its RIP. This records them
# for a running VMM and counts them by guest kernel symbol.
# Usage: scripts/bench/emulated-profile.sh PID [SECONDS] [SYSTEM_MAP]
#   PID: a running `swiftvirt run`; SECONDS: how long to record (default 5);
#   SYSTEM_MAP: the guest kernel's System.map (default: the cached test guest's).
set -euo pipefail
pid=${1:?usage: emulated-profile.sh PID [SECONDS] [SYSTEM_MAP]}
seconds=${2:-5}
map=${3:-$HOME/.cache/swiftvirt/guest/current/System.map}
command -v perf >/dev/null || { echo "emulated-profile.sh: needs perf (apt-get install linux-perf)" >&2; exit 1; }
[ -r "$map" ] || { echo "emulated-profile.sh: no System.map at $map" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
timeout -s INT "$seconds" perf record -q -e kvm:kvm_emulate_insn -p "$pid" -o "$work/perf.data" >/dev/null 2>&1 || true
perf script -i "$work/perf.data" 2>/dev/null | awk '{ split($6, a, ":"); print a[2] }' >"$work/rips"
python3 - "$work/rips" "$map" "$seconds" <<'PY'
import bisect, collections, sys
rips, system_map, seconds = sys.argv[1], sys.argv[2], sys.argv[3]
symbols = []
for line in open(system_map):
    fields = line.split()
    if len(fields) >= 3 and fields[1] in "tTwW":
        symbols.append((int(fields[0], 16), fields[2]))
symbols.sort()
addresses = [a for a, _ in symbols]
counts = collections.Counter()
for line in open(rips):
    line = line.strip()
    if not line:
        continue
    rip = int(line, 16)
    if rip < 0xFFFF800000000000:
        counts["(user space)"] += 1
        continue
    i = bisect.bisect_right(addresses, rip) - 1
    counts[symbols[i][1] if i >= 0 else "(unknown)"] += 1
total = sum(counts.values())
print("%d emulated instructions in %s s (%.0f per second)" % (total, seconds, total / float(seconds)))
for name, count in counts.most_common(30):
    print("%9d %5.1f%%  %s" % (count, 100.0 * count / max(total, 1), name))
PY
