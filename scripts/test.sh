#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, build the test guest (cached outside the
# clone), build SwiftVirt with zero warnings, run every test (unit, tiny KVM guests, real Linux boots).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x "$(command -v swift)" ] || export PATH="/opt/swift/usr/bin:$PATH"

scripts/setup.sh
GUEST_DIR=$(scripts/guest/build.sh | tail -1)
export SWIFTVIRT_GUEST_DIR="$GUEST_DIR"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift build --build-tests 2>&1 | tee "$log"
# Warnings stay at zero in our own code (dependencies' warnings are theirs).
if grep -E "^$PWD/(Sources|Tests)/.*warning:" "$log"; then
  echo "test.sh: compiler warnings in SwiftVirt's code (listed above)" >&2
  exit 1
fi
# Swift Testing runs suites in parallel; the Linux boots are serialized inside their suite.
swift test --skip-build
