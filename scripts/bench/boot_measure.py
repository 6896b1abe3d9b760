#!/usr/bin/env python3
"""One boot of a VMM command, measured from the outside the same way for every VMM.

Starts the command, timestamps (optionally also the first console line containing $MILESTONE), console output on the host clock, and at the first line containing the
marker records: seconds from process start to the marker; peak RSS (VmHWM) minus the RSS of the guest-RAM
mapping (the largest anonymous mapping at least as large as guest RAM); user and system CPU seconds of the
whole process. Then kills the VMM. Prints one JSON object. If the marker never comes (timeout, or the VMM
exits), prints the last console lines as the error.
"""
import json, os, re, select, signal, subprocess, sys, time

# Console text that means the guest will not reach the marker (QEMU pauses on a KVM internal error
# instead of exiting, so the harness has to notice).
FAILURES = [b"KVM internal error", b"Kernel panic", b"swiftvirt: guest fault", b"swiftvirt: VMM failure"]

def smaps_guest_rss_kib(pid, guest_kib):
    best = 0
    size = rss = 0
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                if line.startswith("Size:"):
                    size = int(line.split()[1])
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1])
                    if size >= guest_kib:
                        best = max(best, rss)
    except OSError:
        pass
    return best

def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0

def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks

def main():
    marker, timeout, guest_mib = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    command = sys.argv[4:]
    start = time.time()
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = b""
    result = {"ok": False}
    first_run_ns = None
    milestone = os.environ.get("MILESTONE", "").encode()
    milestone_seconds = None
    while time.time() - start < timeout:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        output += chunk
        if first_run_ns is None:
            m = re.search(rb"first-kvm-run realtime_ns=(\d+)", output)
            if m:
                first_run_ns = int(m.group(1))
        if milestone and milestone_seconds is None and milestone in output:
            milestone_seconds = round(time.time() - start, 3)
        failed = next((f for f in FAILURES if f in output), None)
        if failed and marker.encode() not in output:
            time.sleep(0.5)  # let the VMM finish printing its report
            try:
                output += os.read(proc.stdout.fileno(), 65536)
            except OSError:
                pass
            result = {"ok": False, "failure": failed.decode(), "seconds_to_failure": round(time.time() - start, 1)}
            break
        if marker.encode() in output:
            elapsed = time.time() - start
            user, system = cpu_seconds(proc.pid)
            peak = status_kib(proc.pid, "VmHWM")
            guest = smaps_guest_rss_kib(proc.pid, guest_mib * 1024)
            result = {
                "ok": True, "seconds_to_marker": round(elapsed, 3),
                "peak_rss_mib": round(peak / 1024, 2), "guest_ram_touched_mib": round(guest / 1024, 2),
                "vmm_overhead_mib": round((peak - guest) / 1024, 2),
                "cpu_user_s": user, "cpu_system_s": system,
            }
            if first_run_ns is not None:
                result["ms_to_first_instruction"] = round((first_run_ns / 1e9 - start) * 1000, 2)
            break
    if milestone_seconds is not None:
        result["seconds_to_milestone"] = milestone_seconds
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    if not result["ok"]:
        lines = output.decode(errors="replace").strip().splitlines()
        failure = result.get("failure")
        at = next((i for i, l in enumerate(lines) if failure and failure in l), max(len(lines) - 6, 0))
        result["error"] = " | ".join(lines[max(at - 2, 0):at + 4])
        result.setdefault("seconds", round(time.time() - start, 1))
    print(json.dumps(result), flush=True)

main()
