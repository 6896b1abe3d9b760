#!/usr/bin/env bash
# Daemon latency benchmark: swiftvirtd against Debian's libvirtd 9.0 (qemu driver, qemu:///session run as
# the unprivileged user svbench) with 1 and with 500 defined, shut-off domains. Per daemon and domain count:
# the wall clock of RUNS invocations (default 50) each of `virsh -c URI list --all`, `virsh -c URI dominfo
# NAME` and `virsh -c URI uri` (start-up + connect only), plus the bare `virsh --version` (process start-up
# without a connection), and the RPC round trip alone through python3-libvirt on one open connection:
# `conn.listAllDomains(0)` and `dom.info()`. Both daemons get the same generated domain XML and are timed
# alternately, one invocation each in turn. Prints medians (ms) as Markdown.
# Both daemons run on private sockets in a temporary directory; the script stops them and removes the
# directory on exit. It creates the user svbench if missing and leaves it (`userdel -r svbench` removes it).
# Usage: scripts/bench/daemon-latency.sh [RUNS]     (SWIFTVIRTD=path skips the release build)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x "$(command -v swift)" ] || export PATH="/opt/swift/usr/bin:$PATH"
runs=${1:-50}
if [ -z "${SWIFTVIRTD:-}" ]; then
  swift build -c release --product swiftvirtd >&2
  SWIFTVIRTD=$(swift build -c release --show-bin-path)/swiftvirtd
fi
ours=$(realpath "$SWIFTVIRTD")
if ! command -v libvirtd >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    libvirt-daemon libvirt-daemon-driver-qemu >&2
fi
/usr/bin/python3 -c 'import libvirt' 2>/dev/null ||
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-libvirt >&2
bench_user=svbench
if ! id "$bench_user" >/dev/null 2>&1; then
  useradd -m "$bench_user"
  echo "created user $bench_user (left in place; userdel -r $bench_user removes it)" >&2
fi

# Short paths: socket paths must fit in 107 bytes.
work=$(mktemp -d /tmp/svlat.XXXXXX)
chmod 755 "$work"
ours_pid="" libvirtd_pid=""
stop() { # pid: SIGTERM, then SIGKILL after 10 s
  local pid=$1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
cleanup() {
  stop "$ours_pid"
  stop "$libvirtd_pid"
  rm -rf "$work"
  echo "user $bench_user left in place (userdel -r $bench_user removes it)" >&2
}
trap cleanup EXIT

# Guest files the XML names: never opened, defining a domain only records them.
echo kernel > "$work/vmlinux"
truncate -s 64M "$work/disk.img"

mkdir -p "$work/sv"
"$ours" --socket "$work/sv/sock" --no-readonly-socket --state-dir "$work/sv/state" --run-dir "$work/sv/run" \
  --log-level warning > "$work/sv/log" 2>&1 &
ours_pid=$!
ours_uri="qemu+unix:///system?socket=$work/sv/sock"

# libvirtd as svbench, its session state (XDG dirs, HOME) all inside $work/lv. setpriv execs, so $! is
# libvirtd itself.
lv=$work/lv
mkdir -p "$lv/home" "$lv/run" "$lv/config" "$lv/cache"
chown -R "$bench_user:" "$lv"
chmod 700 "$lv/run"
(cd "$lv/home" && exec setpriv --reuid "$bench_user" --regid "$bench_user" --init-groups \
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$lv/home" USER="$bench_user" XDG_RUNTIME_DIR="$lv/run" \
  XDG_CONFIG_HOME="$lv/config" XDG_CACHE_HOME="$lv/cache" libvirtd --timeout 0) > "$work/libvirtd.log" 2>&1 &
libvirtd_pid=$!
libvirtd_uri="qemu+unix:///session?socket=$lv/run/libvirt/libvirt-sock"

ready() { # uri pid: up to 60 s for the daemon to answer
  for _ in $(seq 600); do
    kill -0 "$2" 2>/dev/null || return 1
    virsh -c "$1" uri >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
ready "$ours_uri" "$ours_pid" || { echo "swiftvirtd did not start:" >&2; cat "$work/sv/log" >&2; exit 1; }
libvirtd_failure=""
if ! ready "$libvirtd_uri" "$libvirtd_pid"; then
  libvirtd_failure="libvirtd did not answer on $libvirtd_uri within 60 s: $(tail -5 "$work/libvirtd.log" | tr '\n' ' ')"
  echo "$libvirtd_failure" >&2
  libvirtd_uri=""
fi

/usr/bin/python3 - "$runs" "$work" "$ours_uri" "$ours_pid" "$libvirtd_uri" "$libvirtd_pid" "$libvirtd_failure" <<'PY'
import libvirt, statistics, subprocess, sys, time
runs = int(sys.argv[1]); work = sys.argv[2]
daemons = [("swiftvirtd", sys.argv[3], sys.argv[4])]
if sys.argv[5]:
    daemons.append(("libvirtd", sys.argv[5], sys.argv[6]))
failure = sys.argv[7]
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

def xml(i):
    # Valid for both: libvirt's qemu driver wants an emulator and, without /dev/kvm access for svbench,
    # type 'qemu'; swiftvirtd accepts both.
    return f"""<domain type='qemu'>
  <name>bench-{i:04d}</name>
  <uuid>5f0c0000-0000-4000-8000-{i:012d}</uuid>
  <memory unit='KiB'>262144</memory>
  <vcpu>2</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <kernel>{work}/vmlinux</kernel>
    <cmdline>console=ttyS0 panic=-1</cmdline>
  </os>
  <on_reboot>restart</on_reboot>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='{work}/disk.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <console type='pty'/>
  </devices>
</domain>"""

connections = {name: libvirt.open(uri) for name, uri, _ in daemons}
defined = 0
def define_up_to(n):
    global defined
    for name, conn in connections.items():
        start = time.perf_counter()
        for i in range(defined + 1, n + 1):
            conn.defineXML(xml(i))
        print(f"{name}: defined domains {defined + 1}..{n} in {time.perf_counter() - start:.2f} s", file=sys.stderr)
        assert len(conn.listAllDomains(0)) == n, f"{name} lists {len(conn.listAllDomains(0))} domains, not {n}"
    defined = n

def virsh(*arguments):
    start = time.perf_counter()
    subprocess.run(["virsh", *arguments], check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000

def interleaved(operations):
    """operations: {daemon: callable returning ms}. One warm-up call each, then `runs` rounds, daemons in
    turn. Returns {daemon: median ms}."""
    for op in operations.values():
        op()
    samples = {name: [] for name in operations}
    for _ in range(runs):
        for name, op in operations.items():
            samples[name].append(op())
    return {name: statistics.median(values) for name, values in samples.items()}

def timed(call):
    def op():
        start = time.perf_counter()
        call()
        return (time.perf_counter() - start) * 1000
    return op

def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

results = {}  # (label, n) -> {daemon: ms}
baseline = interleaved({"virsh": lambda: virsh("--version")})["virsh"]
rss = {}
for n in (1, 500):
    define_up_to(n)
    target = f"bench-{n:04d}"  # the last one defined
    print(f"timing with {n} domain(s)", file=sys.stderr)
    results[("`virsh uri` (start-up + connect)", n)] = interleaved(
        {name: (lambda uri=uri: virsh("-c", uri, "uri")) for name, uri, _ in daemons})
    results[("`virsh list --all`", n)] = interleaved(
        {name: (lambda uri=uri: virsh("-c", uri, "list", "--all")) for name, uri, _ in daemons})
    results[(f"`virsh dominfo NAME`", n)] = interleaved(
        {name: (lambda uri=uri: virsh("-c", uri, "dominfo", target)) for name, uri, _ in daemons})
    results[("RPC `conn.listAllDomains(0)`", n)] = interleaved(
        {name: timed(lambda conn=conn: conn.listAllDomains(0)) for name, conn in connections.items()})
    domains = {name: conn.lookupByName(target) for name, conn in connections.items()}
    results[("RPC `dom.info()`", n)] = interleaved(
        {name: timed(lambda dom=dom: dom.info()) for name, dom in domains.items()})
    rss[n] = {name: rss_mib(pid) for name, _, pid in daemons}

print(f"| median of {runs} (ms) | domains | swiftvirtd | libvirtd 9.0 | ratio |")
print("|---|---:|---:|---:|---:|")
for (label, n), medians in results.items():
    ours = medians["swiftvirtd"]
    theirs = medians.get("libvirtd")
    if theirs is None:
        print(f"| {label} | {n} | {ours:.2f} | — | — |")
    else:
        print(f"| {label} | {n} | {ours:.2f} | {theirs:.2f} | {ours / theirs:.2f}× |")
print(f"\n`virsh --version` (process start-up, no connection): {baseline:.2f} ms median.")
for n, values in rss.items():
    print(f"Daemon RSS with {n} defined: " + ", ".join(f"{name} {v:.1f} MiB" for name, v in values.items()) + ".")
if failure:
    print(f"\nlibvirtd: {failure}")
PY
