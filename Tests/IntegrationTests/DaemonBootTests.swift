import Foundation
import Testing

/// Stock virsh and python3-libvirt drive swiftvirtd, which runs the real test guest under the real VMM:
/// one boot for the whole lifecycle, including a daemon killed with SIGKILL while the guest runs.
@Suite(.enabled(if: kvmTestsEnabled, "SWIFTVIRT_SKIP_KVM=1"), .serialized)
struct DaemonBootTests {
    let directory = URL(fileURLWithPath: "/tmp/svd-\(getpid())")
    var socket: String { directory.appendingPathComponent("sock").path }
    var uri: String { "qemu:///system?socket=\(socket)" }

    static var swiftvirtd: String {
        URL(fileURLWithPath: TestGuest.swiftvirt).deletingLastPathComponent().appendingPathComponent("swiftvirtd").path
    }

    func startDaemon() throws -> Process {
        // A daemon killed with SIGKILL leaves its socket file: wait for the new one, not the old.
        try? FileManager.default.removeItem(atPath: socket)
        let daemon = Process()
        daemon.executableURL = URL(fileURLWithPath: Self.swiftvirtd)
        daemon.arguments = [
            "--socket", socket, "--no-readonly-socket", "--state-dir", directory.appendingPathComponent("state").path,
            "--run-dir", directory.appendingPathComponent("run").path, "--swiftvirt", TestGuest.swiftvirt,
        ]
        let log = FileHandle(forWritingAtPath: directory.appendingPathComponent("daemon.log").path)
        daemon.standardOutput = log
        daemon.standardError = log
        try daemon.run()
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: socket) && Date() < deadline { usleep(50_000) }
        return daemon
    }

    func virsh(_ arguments: String...) throws -> String {
        try VirtioRig.output(of: ["virsh", "-c", uri] + arguments)
    }

    /// Types `command` on `virsh console` under a pseudo-terminal until `expected` comes back.
    func console(_ command: String, expecting expected: String, timeout: Int) throws -> String {
        try VirtioRig.output(of: [
            "python3", "-c", Self.consoleScript, uri, "guest", command, expected, String(timeout),
        ])
    }

    @Test func virshAndPythonDriveARealGuest() throws {
        try LinuxBootTests.requireGuest()
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: directory.appendingPathComponent("daemon.log").path, contents: nil)
        let disk = directory.appendingPathComponent("disk.raw")
        try Data(count: 1 << 20).write(to: disk)
        let xml = directory.appendingPathComponent("guest.xml")
        try Data(Self.domainXML(disk: disk.path).utf8).write(to: xml)

        var daemon = try startDaemon()
        defer {
            _ = try? virsh("destroy", "guest")
            if daemon.isRunning { daemon.terminate() }
            try? FileManager.default.removeItem(at: directory)
        }
        #expect(try virsh("define", xml.path).contains("Domain 'guest' defined"))
        #expect(Self.row(of: "guest", in: try virsh("list", "--all"))?.hasSuffix("shut off") == true)
        #expect(try virsh("start", "guest").contains("Domain 'guest' started"))
        #expect(try virsh("domstate", "guest") == "running")

        let answer = try console(
            "echo answer=$((6*7))", expecting: "answer=42", timeout: LinuxBootTests.bootTimeout.int)
        #expect(answer.contains("answer=42"))

        #expect(try virsh("suspend", "guest").contains("suspended"))
        #expect(try virsh("domstate", "guest") == "paused")
        #expect(try virsh("resume", "guest").contains("resumed"))
        #expect(try virsh("domstate", "guest") == "running")
        let live = try virsh("dumpxml", "guest")
        #expect(live.contains("<name>guest</name>") && live.contains("id='1'"))

        // The daemon dies; the guest does not; a new daemon adopts it and its console still works.
        kill(daemon.processIdentifier, SIGKILL)
        daemon.waitUntilExit()
        daemon = try startDaemon()
        #expect(Self.row(of: "guest", in: try virsh("list"))?.hasSuffix("running") == true)
        #expect(try console("echo again=$((5*5))", expecting: "again=25", timeout: 120).contains("again=25"))

        let python = try VirtioRig.output(of: [
            "/usr/bin/python3", "-c",
            "import libvirt; c = libvirt.open('\(uri)'); d = c.lookupByName('guest');"
                + " print(d.isActive(), d.state()[0] == libvirt.VIR_DOMAIN_RUNNING, d.info()[3])",
        ])
        #expect(python == "1 True 1")

        // virsh shutdown presses the ACPI power button; the guest's acpid runs poweroff; the VMM exits
        // and the daemon's monitor shuts the domain off.
        #expect(try virsh("shutdown", "guest").contains("is being shutdown"))
        let poweredOff = Self.waitUntil(seconds: 300) { (try? virsh("domstate", "guest")) == "shut off" }
        #expect(poweredOff, "the guest did not power off after the ACPI power button")
        if !poweredOff { #expect(try virsh("destroy", "guest").contains("destroyed")) }
        #expect(try virsh("domstate", "guest") == "shut off")
        #expect(try virsh("undefine", "guest").contains("undefined"))
        #expect(!(try virsh("list", "--all").contains("guest")))
    }

    /// Polls `condition` once a second until it holds or `seconds` pass; checks once more at the end.
    static func waitUntil(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            sleep(1)
        }
        return condition()
    }

    /// The line of a `virsh list` table naming `name`, trimmed.
    static func row(of name: String, in table: String) -> String? {
        table.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .first {
                $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.map(String.init) == name
            }
    }

    static func domainXML(disk: String) -> String {
        """
        <domain type='kvm'>
          <name>guest</name>
          <memory unit='MiB'>256</memory>
          <vcpu>1</vcpu>
          <os>
            <type arch='x86_64'>hvm</type>
            <kernel>\(TestGuest.vmlinux)</kernel>
            <initrd>\(TestGuest.initramfs)</initrd>
            <cmdline>console=ttyS0 8250.nr_uarts=1 panic=-1</cmdline>
          </os>
          <devices>
            <disk type='file' device='disk'>
              <driver name='qemu' type='raw'/>
              <source file='\(disk)'/>
              <target dev='vda' bus='virtio'/>
            </disk>
            <serial type='pty'/>
            <console type='pty'/>
          </devices>
        </domain>
        """
    }

    /// virsh console under a pty: waits for the prompt (pressing Enter), types the command, waits for the
    /// expected text, leaves with Ctrl-].
    static let consoleScript = """
        import os, pty, sys, time, select
        uri, name, command, expect, timeout = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
        pid, fd = pty.fork()
        if pid == 0:
            os.execvp("virsh", ["virsh", "-c", uri, "console", name, "--force"])
        buf = b""
        def read_until(needle, t):
            global buf
            end = time.time() + t
            while time.time() < end:
                r, _, _ = select.select([fd], [], [], 0.5)
                if r:
                    try:
                        d = os.read(fd, 4096)
                    except OSError:
                        return False
                    if not d:
                        return False
                    buf += d
                    if needle in buf:
                        return True
            return False
        read_until(b"Escape character", 20)
        deadline = time.time() + timeout
        found = False
        while time.time() < deadline and not found:
            os.write(fd, b"\\n")
            if read_until(b"swiftvirt:", 5):
                os.write(fd, command.encode() + b"\\n")
                found = read_until(expect.encode(), 120)
        os.write(fd, b"\\x1d")
        time.sleep(1)
        print(buf.decode(errors="replace")[-400:])
        sys.exit(0 if found else 1)
        """
}

extension TimeInterval {
    fileprivate var int: Int { Int(self) }
}
