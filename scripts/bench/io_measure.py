#!/usr/bin/env python3
"""Runs fio and iperf3 inside one booted guest and prints a Markdown table.

Usage: io_measure.py RUNS VMM_ARGV...   (VMM_ARGV starts the VMM with the guest's serial console on stdio,
inside the network namespace $NETNS whose tap is 10.0.2.1/24; disks: vda = tools, vdb = raw test disk,
vdc = qcow2 test disk.) Each fio job and iperf3 direction runs RUNS times; the table gives medians.
"""
import json, os, select, statistics, subprocess, sys, time

runs = int(sys.argv[1])
vmm = sys.argv[2:]
netns = os.environ["NETNS"]
p = subprocess.Popen(vmm, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
buf = b""


def wait_for(needle, timeout):
    global buf
    end = time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([p.stdout], [], [], 1)
        if r:
            d = os.read(p.stdout.fileno(), 65536)
            if not d:
                break
            buf += d
            i = buf.find(needle)
            if i >= 0:
                out = buf[: i + len(needle)]
                buf = buf[i + len(needle):]
                return out.decode(errors="replace")
    sys.exit("timed out waiting for %r; console tail:\n%s" % (needle, buf[-3000:].decode(errors="replace")))


def run(command, timeout=900):
    """Types `command` on the guest console and returns its output; progress goes to stderr."""
    print("io_measure: %s" % command[:120], file=sys.stderr, flush=True)
    marker = "M%d" % int(time.time() * 1000 % 100000)
    line = ("echo %s-BEGIN; %s; echo %s-\"END\"\n" % (marker, command, marker)).encode()
    for i in range(0, len(line), 16):
        p.stdin.write(line[i:i + 16]); p.stdin.flush(); time.sleep(0.02)
    wait_for(("%s-BEGIN\r\n" % marker).encode(), timeout)
    return wait_for(("%s-END" % marker).encode(), timeout)[: -len(marker) - 4].strip()


wait_for(b"swiftvirt:", 900)
# Busybox steps may hit the kvm_pvm user-space fault (issue 3): retry them; fio and iperf3 are not busybox.
for command in ["dmesg -n 1; mkdir -p /mnt/tools && (mountpoint -q /mnt/tools || mount -t ext4 -o ro /dev/vda /mnt/tools)"
                " && /mnt/tools/setup; echo rc=$?",
                "ip addr replace 10.0.2.15/24 dev eth0 && ip link set eth0 up; echo rc=$?"]:
    for attempt in range(3):
        output = run(command)
        if output.endswith("rc=0"):
            break
        print("io_measure: attempt %d failed:\n%s" % (attempt + 1, output[-2000:]), file=sys.stderr, flush=True)
    else:
        sys.exit("guest setup failed: %s" % command)
# --thread: jobs as threads of one fio process (a fork per job is slow on a software KVM).
fio = "/usr/local/bin/fio"
jobs = [
    ("4k randread QD1", "--rw=randread --bs=4k --iodepth=1"),
    ("4k randread QD32", "--rw=randread --bs=4k --iodepth=32"),
    ("4k randwrite QD1", "--rw=randwrite --bs=4k --iodepth=1"),
    ("4k randwrite QD32", "--rw=randwrite --bs=4k --iodepth=32"),
    ("1M read QD8", "--rw=read --bs=1M --iodepth=8"),
    ("1M write QD8", "--rw=write --bs=1M --iodepth=8"),
]
rows = []
# IO_MEASURE=iperf3 (or fio) runs only that part.
only = os.environ.get("IO_MEASURE", "")
for disk, device in ([] if only == "iperf3" else [("raw", "/dev/vdb"), ("qcow2", "/dev/vdc")]):
    for name, args in jobs:
        values = []
        for _ in range(runs):
            out = run("%s --name=j --thread --filename=%s --direct=1 --ioengine=libaio --runtime=10 --time_based "
                      "--size=512M %s --minimal 2>&1 | tail -1" % (fio, device, args))
            fields = out.split(";")
            # terse v3: read iops = field 8, write iops = field 49 (1-based); bandwidth KiB/s 7 and 48.
            try:
                reading = "read" in args
                iops = float(fields[7] if reading else fields[48])
                bw = float(fields[6] if reading else fields[47]) / 1024
            except (IndexError, ValueError):
                sys.exit("fio output not understood: %r" % out)
            values.append((iops, bw))
        rows.append(("fio %s %s" % (disk, name), statistics.median(v[0] for v in values),
                     statistics.median(v[1] for v in values)))
        print("io_measure: result %s" % (rows[-1],), file=sys.stderr, flush=True)
for direction, flag in ([] if only == "fio" else [("guest → host", ""), ("host → guest", "-R")]):
    values = []
    for _ in range(runs):
        server = subprocess.Popen(["ip", "netns", "exec", netns, "iperf3", "-s", "-1", "-J", "-B", "10.0.2.1"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(1)
        run("/usr/local/bin/iperf3 -c 10.0.2.1 -t 10 %s >/dev/null 2>&1; echo rc=$?" % flag)
        try:
            report = json.loads(server.communicate(timeout=60)[0])
            # The server's report: it receives in the normal direction and sends with -R, where its
            # sum_received is empty (0); the sender's rate then stands for the transfer.
            values.append(report["end"]["sum_sent" if flag else "sum_received"]["bits_per_second"] / 1e9)
        except (subprocess.TimeoutExpired, ValueError, KeyError) as error:
            # A stalled transfer is a result too: record it rather than lose the whole table.
            server.kill()
            print("io_measure: iperf3 %s failed: %s" % (direction, error), file=sys.stderr, flush=True)
    rows.append(("iperf3 TCP %s (Gbit/s)" % direction, statistics.median(values) if values else float("nan"), None))
    print("io_measure: result %s" % (rows[-1],), file=sys.stderr, flush=True)
p.kill()
print("| measurement (median of %d) | IOPS or Gbit/s | MiB/s |" % runs)
print("|---|---|---|")
for name, a, b in rows:
    print("| %s | %.4g | %s |" % (name, a, "—" if b is None else "%.2f" % b))
