#!/usr/bin/env bash
# Installs the Debian 12 packages SwiftVirt's build, guest and tests need.
# Idempotent and non-interactive: does nothing when everything is installed, and runs
# `apt-get update` only when the package lists are missing or too stale to install from.
# Swift itself is not a Debian package here; it is expected at /opt/swift.
set -euo pipefail

pkgs=(
  # guest kernel build (scripts/guest/build.sh)
  build-essential bc flex bison libelf-dev libssl-dev cpio xz-utils lz4 linux-source-6.1
  # guest userspace (initramfs)
  busybox-static
  # reference VMM for comparisons, disk images
  qemu-system-x86 qemu-utils
  # libraries and test tooling
  zlib1g-dev libzstd-dev python3 expect
  # wanted by later tests: libvirt comparison, disk and network benchmarks
  libvirt-clients python3-libvirt fio iperf3
  # swiftvirtd's virtual networks at run time (bridges' DHCP/DNS and NAT), as libvirt's network driver
  dnsmasq-base nftables
  # virt-install against swiftvirtd (Tests/ManagementTests/VirtInstallTests.swift)
  virtinst
  # guest tools disk (scripts/guest/tools-disk.sh): vsock client, ext4 tools
  socat e2fsprogs
  # ACPI table disassembler: the DSDT tests check our AML with it
  acpica-tools
)

missing=()
# (No `cmd | grep -q` here: with pipefail, grep -q closing the pipe early fails the test.)
for p in "${pkgs[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = 'install ok installed' ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#pkgs[@]} packages installed"
else
  sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
  apt() { $sudo env DEBIAN_FRONTEND=noninteractive apt-get -q "$@"; }
  install() {
    apt install -y --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
  }
  # Lists are needed if apt knows no candidate for some missing package (fresh image);
  # otherwise try with the lists we have and refresh once only if that fails (stale mirror).
  need_update=0
  for p in "${missing[@]}"; do
    cand=$(apt-cache policy "$p" 2>/dev/null | sed -n 's/^ *Candidate: //p')
    [ -n "$cand" ] && [ "$cand" != '(none)' ] || need_update=1
  done
  echo "setup: installing ${missing[*]}"
  if [ $need_update -eq 1 ] || ! install; then
    apt update
    install
  fi
fi

[ -x /opt/swift/usr/bin/swift ] || [ -x /opt/swift/bin/swift ] ||
  echo "setup: warning: Swift not found under /opt/swift" >&2
