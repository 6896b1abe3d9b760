import Foundation

/// The host side of the virtio checks for one boot: a network namespace with a tap the VMM opens by
/// name, host servers for a TCP and a vsock transfer, the vsock and virtio-console sockets, the tools
/// disk (socat, mke2fs, e2fsck: scripts/guest/tools-disk.sh) and a scratch disk for ext4.
final class VirtioRig {
    static let hostAddress = "10.0.2.1"
    static let guestAddress = "10.0.2.15"
    static let tapName = "svtap0"
    static let tcpSinkPort = 5001
    static let tcpSourcePort = 5002
    static let transferBytes = 1 << 20
    static let guestCID = 3
    static let hostVsockPort = 5000
    static let guestVsockPort = 6000
    static let scratchBytes = 64 << 20

    let namespace: String
    let directory: URL
    let toolsDisk: String
    let scratchDisk: URL
    /// A qcow2 overlay over a raw base holding `basePattern` at `baseSector`.
    let overlayDisk: URL
    static let baseSector = 300
    static let basePattern = "BASE-IMAGE-PATTERN"
    static let overlaySector = 400
    static let overlayPattern = "QCOW2-GUEST-WROTE-THIS"
    var vsockPath: String { directory.appendingPathComponent("vsock").path }
    var consolePath: String { directory.appendingPathComponent("console").path }
    private let servers = Process()
    private let serverOutput = Pipe()
    private let serverLines = ConsoleBuffer()

    init() throws {
        namespace = "swiftvirt-test-\(getpid())"
        directory = URL(fileURLWithPath: "/tmp/svrig-\(getpid())")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        toolsDisk =
            try Self.output(of: [Self.scriptsDirectory + "/guest/tools-disk.sh"]).components(
                separatedBy: "\n"
            ).last ?? ""
        scratchDisk = directory.appendingPathComponent("scratch.raw")
        _ = FileManager.default.createFile(atPath: scratchDisk.path, contents: nil)
        let handle = try FileHandle(forWritingTo: scratchDisk)
        try handle.truncate(atOffset: UInt64(Self.scratchBytes))
        try handle.close()

        let base = directory.appendingPathComponent("base.raw")
        var baseBytes = Data(count: 16 << 20)
        baseBytes.replaceSubrange(
            (Self.baseSector * 512)..<(Self.baseSector * 512 + Self.basePattern.utf8.count),
            with: Data(Self.basePattern.utf8))
        try baseBytes.write(to: base)
        overlayDisk = directory.appendingPathComponent("overlay.qcow2")
        try Self.shell("qemu-img", "create", "-q", "-f", "qcow2", "-b", base.path, "-F", "raw", overlayDisk.path)

        try Self.shell("ip", "netns", "add", namespace)
        try Self.shell("ip", "-n", namespace, "link", "set", "lo", "up")
        try Self.shell("ip", "-n", namespace, "tuntap", "add", "dev", Self.tapName, "mode", "tap", "vnet_hdr")
        try Self.shell("ip", "-n", namespace, "addr", "add", "\(Self.hostAddress)/24", "dev", Self.tapName)
        try Self.shell("ip", "-n", namespace, "link", "set", Self.tapName, "up")

        servers.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        servers.arguments = ["netns", "exec", namespace, "python3", "-u", "-c", Self.serverScript, vsockPath]
        servers.standardOutput = serverOutput
        servers.standardError = serverOutput
        serverOutput.fileHandleForReading.readabilityHandler = { [serverLines] handle in
            let data = handle.availableData
            if !data.isEmpty { serverLines.bytes.withLock { $0.append(contentsOf: data) } }
        }
        try servers.run()
        try waitForServerLine("servers-ready", timeout: 30)
    }

    deinit {
        if servers.isRunning { servers.terminate() }
        _ = try? Self.shell("ip", "netns", "delete", namespace)
        try? FileManager.default.removeItem(at: directory)
    }

    /// Runs swiftvirt inside the namespace, so it finds the tap.
    var launcher: [String] { ["/usr/sbin/ip", "netns", "exec", namespace] }

    var arguments: [String] {
        [
            "--disk", "path=\(toolsDisk),readonly=on,serial=tools",
            "--disk", "path=\(scratchDisk.path),serial=scratch",
            "--disk", "path=\(overlayDisk.path),format=qcow2,serial=qcow2",
            "--net", "tap=\(Self.tapName),mac=52:54:00:aa:bb:cc",
            "--rng",
            "--vsock", "cid=\(Self.guestCID),uds=\(vsockPath)",
            "--virtio-console", "socket=\(consolePath)",
        ]
    }

    var serverTranscript: String { String(decoding: serverLines.bytes.withLock { $0 }, as: UTF8.self) }

    /// Waits for a line the host servers print (e.g. "tcp-sink 1048576 <sha256>").
    @discardableResult
    func waitForServerLine(_ prefix: String, timeout: TimeInterval) throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let line = serverTranscript.components(separatedBy: "\n").first(where: { $0.hasPrefix(prefix) }) {
                return line
            }
            usleep(50_000)
        }
        throw GuestTimeout(waitingFor: prefix, transcript: "host servers:\n\(serverTranscript)")
    }

    /// The overlay after the guest wrote it: `qemu-img check` must be clean; returns the sector the guest
    /// wrote and the base's sector, read through the chain by qemu-img.
    func overlaySectors() throws -> (written: Data, base: Data) {
        try Self.shell("qemu-img", "check", "-q", overlayDisk.path)
        let raw = directory.appendingPathComponent("overlay-export.raw")
        try Self.shell("qemu-img", "convert", "-O", "raw", overlayDisk.path, raw.path)
        let data = try Data(contentsOf: raw)
        func sector(_ index: Int) -> Data { data.subdata(in: (index * 512)..<(index * 512 + 512)) }
        return (sector(Self.overlaySector), sector(Self.baseSector))
    }

    /// A host process connecting into the guest over vsock: "CONNECT port", then `payload`, then the reply.
    func vsockRoundTrip(port: Int, payload: String, timeout: TimeInterval) throws -> String {
        try Self.output(
            of: ["python3", "-c", Self.vsockClientScript, vsockPath, String(port), payload, String(Int(timeout))])
    }

    /// Sends `command` to the shell on the virtio console and returns what came back until `until`.
    func consoleExchange(_ command: String, until: String, timeout: TimeInterval) throws -> String {
        try Self.output(of: [
            "python3", "-c", Self.consoleClientScript, consolePath, command, until, String(Int(timeout)),
        ])
    }

    static var scriptsDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts").path
    }

    @discardableResult
    static func shell(_ arguments: String...) throws -> String {
        try output(of: arguments)
    }

    static func output(of arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0 else {
            throw CommandFailed(
                command: arguments.joined(separator: " "), status: process.terminationStatus, output: text)
        }
        return text
    }

    /// Host servers, in the namespace: a TCP sink that reports the length and SHA-256 of what it got, a
    /// TCP source that sends the pattern, and the vsock listener for guest port 5000 (Firecracker's
    /// "<uds>_<port>") that answers with the upper-cased request.
    static let serverScript = """
        import hashlib, os, socket, sys, threading
        uds = sys.argv[1]
        pattern = bytes(\(transferBytes))
        def tcp(port, handle):
            s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("\(hostAddress)", port)); s.listen()
            def serve():
                while True:
                    c, _ = s.accept(); handle(c); c.close()
            threading.Thread(target=serve, daemon=True).start()
        def sink(c):
            h = hashlib.sha256(); n = 0
            while True:
                d = c.recv(65536)
                if not d: break
                h.update(d); n += len(d)
            print("tcp-sink", n, h.hexdigest(), flush=True)
        def source(c):
            c.sendall(pattern); print("tcp-source-sent", len(pattern), flush=True)
        tcp(\(tcpSinkPort), sink); tcp(\(tcpSourcePort), source)
        print("pattern-sha256", hashlib.sha256(pattern).hexdigest(), flush=True)
        path = uds + "_\(hostVsockPort)"
        u = socket.socket(socket.AF_UNIX); u.bind(path); u.listen()
        def vsock():
            while True:
                c, _ = u.accept(); data = b""
                while True:
                    d = c.recv(65536)
                    if not d: break
                    data += d
                print("vsock-host-got", data.decode(errors="replace").strip(), flush=True)
                c.sendall(data.upper()); c.close()
        threading.Thread(target=vsock, daemon=True).start()
        print("servers-ready", flush=True)
        threading.Event().wait()
        """

    static let vsockClientScript = """
        import socket, sys
        path, port, payload, timeout = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode(), int(sys.argv[4])
        s = socket.socket(socket.AF_UNIX); s.settimeout(timeout); s.connect(path)
        s.sendall(b"CONNECT %d\\n" % port)
        line = b""
        while not line.endswith(b"\\n"):
            d = s.recv(1)
            if not d: sys.exit("closed before OK: %r" % line)
            line += d
        if not line.startswith(b"OK "): sys.exit("bad reply %r" % line)
        s.sendall(payload); s.shutdown(socket.SHUT_WR)
        reply = b""
        while True:
            d = s.recv(65536)
            if not d: break
            reply += d
        print(reply.decode(errors="replace").strip())
        """

    static let consoleClientScript = """
        import socket, sys, time
        path, command, until, timeout = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
        s = socket.socket(socket.AF_UNIX); s.settimeout(timeout); s.connect(path)
        s.sendall(command.encode() + b"\\n")
        data = b""; deadline = time.time() + timeout
        while until not in data and time.time() < deadline:
            d = s.recv(4096)
            if not d: break
            data += d
        print(data.decode(errors="replace"))
        sys.exit(0 if until in data else 1)
        """
}

struct CommandFailed: Error, CustomStringConvertible {
    let command: String
    let status: Int32
    let output: String
    var description: String { "`\(command)` exited with \(status): \(output)" }
}
