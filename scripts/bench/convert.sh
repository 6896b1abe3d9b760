#!/usr/bin/env bash
# Convert benchmark: `qemu-img convert` vs `swiftvirt-img convert` on a ~1 GiB image with mixed regions
# (incompressible data, compressible text, written zeroes, holes) made in a temporary directory that is
# removed afterwards. Cases: qcow2→raw, raw→qcow2, raw→qcow2 -c. Prints the median wall time of RUNS runs
# (default 5) per tool and case as a Markdown table, with swiftvirt-img/qemu-img ratios (below 1 is faster).
# Usage: scripts/bench/convert.sh [RUNS]      (SWIFTVIRT_IMG=path skips the release build)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x "$(command -v swift)" ] || export PATH="/opt/swift/usr/bin:$PATH"
runs=${1:-5}
if [ -z "${SWIFTVIRT_IMG:-}" ]; then
  swift build -c release --product swiftvirt-img >&2
  SWIFTVIRT_IMG=$(swift build -c release --show-bin-path)/swiftvirt-img
fi
ours=$(realpath "$SWIFTVIRT_IMG")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 64 slots of 16 MiB: random data, compressible text, explicit zeroes, and a hole, in turn.
echo "making the 1 GiB test image in $work" >&2
qemu-img create -q -f raw "$work/src.raw" 1G
# (yes dies of SIGPIPE once head has enough, which pipefail would count as a failure.)
(yes "SwiftVirt convert benchmark: compressible guest text, line after line." || true) | head -c $((16 << 20)) > "$work/text"
for slot in $(seq 0 63); do
  case $((slot % 4)) in
    0) head -c $((16 << 20)) /dev/urandom | dd of="$work/src.raw" bs=1M seek=$((slot * 16)) conv=notrunc status=none ;;
    1) dd if="$work/text" of="$work/src.raw" bs=1M seek=$((slot * 16)) conv=notrunc status=none ;;
    2) dd if=/dev/zero of="$work/src.raw" bs=1M count=8 seek=$((slot * 16)) conv=notrunc status=none ;;
    3) ;;
  esac
done
rm -f "$work/text"
qemu-img convert -O qcow2 "$work/src.raw" "$work/src.qcow2"
sync

# Median wall seconds of `runs` runs of a command writing $work/out (removed before each run).
median() {
  local times=()
  for _ in $(seq "$runs"); do
    rm -f "$work/out"
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    times+=("$(echo "$end - $start" | bc -l)")
  done
  printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

cases=("qcow2→raw|-O raw $work/src.qcow2" "raw→qcow2|-O qcow2 $work/src.raw" "raw→qcow2 -c|-c -O qcow2 $work/src.raw")
echo "| conversion (1 GiB, mixed) | qemu-img convert (s) | swiftvirt-img convert (s) | ratio |"
echo "|---|---:|---:|---:|"
for entry in "${cases[@]}"; do
  name=${entry%%|*}
  read -r -a arguments <<< "${entry#*|}"
  echo "timing $name" >&2
  qemu=$(median qemu-img convert "${arguments[@]}" "$work/out")
  ours_time=$(median "$ours" convert "${arguments[@]}" "$work/out")
  # Both tools must produce the same guest-visible content.
  qemu-img compare -q "$work/out" "${arguments[-1]}" || echo "warning: $name output differs from the source" >&2
  printf '| %s | %.2f | %.2f | %.2f |\n' "$name" "$qemu" "$ours_time" "$(echo "$ours_time / $qemu" | bc -l)"
done
