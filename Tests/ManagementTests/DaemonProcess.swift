import Foundation
import Testing

@testable import Management

/// What a finished child process printed.
struct CommandResult: Sendable, CustomStringConvertible {
    var status: Int32
    var output: String
    var error: String

    var description: String { "exit \(status)\nstdout:\n\(output)\nstderr:\n\(error)" }
}

/// Runs blocking work (child processes) on a thread of its own, off Swift's cooperative pool.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// Runs a program to completion and collects its output.
func run(_ executable: String, _ arguments: [String], environment: [String: String]) async throws -> CommandResult {
    try await blocking {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read before waiting so a full pipe cannot block the child.
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        let errorData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CommandResult(
            status: process.terminationStatus, output: String(decoding: outputData, as: UTF8.self),
            error: String(decoding: errorData, as: UTF8.self))
    }
}

/// The real `swiftvirtd` binary (built next to the test bundle) serving a fixture's directories with
/// the fake VMM, driven by stock virsh and python3-libvirt.
final class DaemonProcess: @unchecked Sendable {
    let fixture: ManagementFixture
    private var process: Process?
    private let lock = NSLock()

    var socketPath: String { fixture.directory + "/sock" }
    var uri: String { "qemu:///system?socket=\(socketPath)" }
    var logPath: String { fixture.directory + "/swiftvirtd.log" }

    init(fixture: ManagementFixture) {
        self.fixture = fixture
    }

    /// `name` (swiftvirtd, swiftvirt) in the directory of the running test executable
    /// (.build/<triple>/debug).
    static func executable(_ name: String = "swiftvirtd") throws -> String {
        let testBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = testBinary.deletingLastPathComponent()
        // Inside an .xctest bundle on Darwin-style layouts, step out of it.
        while directory.path.contains(".xctest") { directory = directory.deletingLastPathComponent() }
        let path = directory.appendingPathComponent(name).path
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw DaemonProcessError.missingExecutable(path)
        }
        return path
    }

    /// The arguments `start` passes, then `extra`.
    func arguments(_ extra: [String] = []) -> [String] {
        [
            "--socket", socketPath, "--no-readonly-socket", "--state-dir", fixture.paths.stateDirectory,
            "--run-dir", fixture.paths.runDirectory, "--swiftvirt", fixture.fakeVMM, "--log-level", "debug",
        ] + extra
    }

    /// Starts the daemon (with `extraArguments`) and waits until its socket accepts connections.
    func start(extraArguments: [String] = []) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.executable())
        process.arguments = arguments(extraArguments)
        if !FileManager.default.fileExists(atPath: logPath) {
            _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        }
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        log.seekToEndOfFile()
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
        lock.withLock { self.process = process }
        let socketPath = socketPath
        let ready = await fixture.eventually(10) {
            guard process.isRunning else { return false }
            return (try? UnixSocket.connect(socketPath)).map { close($0) } != nil
        }
        guard ready else { throw DaemonProcessError.notListening(log: daemonLog()) }
    }

    /// SIGKILL: no clean-up of any kind, as when the daemon crashes.
    func kill9() async throws {
        guard let process = lock.withLock({ self.process }) else { return }
        kill(process.processIdentifier, SIGKILL)
        try await blocking { process.waitUntilExit() }
        lock.withLock { self.process = nil }
    }

    func stop() async throws {
        guard let process = lock.withLock({ self.process }) else { return }
        process.terminate()
        try await blocking { process.waitUntilExit() }
        lock.withLock { self.process = nil }
    }

    func daemonLog() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    func virsh(_ arguments: String...) async throws -> CommandResult {
        try await virsh(arguments)
    }

    func virsh(_ arguments: [String], uri: String? = nil) async throws -> CommandResult {
        try await run(
            "/usr/bin/virsh", ["-c", uri ?? self.uri] + arguments,
            environment: ["LC_ALL": "C", "HOME": fixture.directory, "PATH": "/usr/bin:/bin"])
    }

    /// SwiftVirt's own client, on this daemon's socket.
    func swiftvirt(_ arguments: String...) async throws -> CommandResult {
        try await run(
            try Self.executable("swiftvirt"), arguments + ["--connect", socketPath],
            environment: ["LC_ALL": "C", "PATH": "/usr/bin:/bin"])
    }

    func python(_ script: String, _ arguments: String...) async throws -> CommandResult {
        let path = fixture.directory + "/script-\(UUID().uuidString).py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return try await run(
            "/usr/bin/python3", [path] + arguments, environment: ["LC_ALL": "C", "PATH": "/usr/bin:/bin"])
    }

    /// `virsh console NAME` under a pseudo-terminal: waits for the banner, types `probe` and Enter,
    /// waits for the echo, then leaves with Ctrl-]. Prints what virsh showed and how it exited.
    func console(_ name: String, probe: String) async throws -> CommandResult {
        try await console(probe: probe, command: ["/usr/bin/virsh", "-c", uri, "console", name])
    }

    /// The same for any console client that prints virsh's banner: `command` starts with its path.
    func console(probe: String, command: [String]) async throws -> CommandResult {
        let arguments = [probe, fixture.directory] + command
        return try await run(
            "/usr/bin/python3", [try consoleDriverPath()] + arguments,
            environment: ["LC_ALL": "C", "PATH": "/usr/bin:/bin"])
    }

    private func consoleDriverPath() throws -> String {
        let path = fixture.directory + "/console-driver.py"
        try Self.consoleDriver.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let consoleDriver = #"""
        import os, pty, select, sys, time
        probe, home = sys.argv[1:3]
        command = sys.argv[3:]
        pid, fd = pty.fork()
        if pid == 0:
            os.environ.update({"LC_ALL": "C", "HOME": home, "TERM": "xterm"})
            os.execv(command[0], command)
        seen = b""
        def wait_for(token, seconds):
            global seen
            deadline = time.time() + seconds
            while token not in seen and time.time() < deadline:
                ready, _, _ = select.select([fd], [], [], 0.05)
                if ready:
                    try:
                        data = os.read(fd, 4096)
                    except OSError:
                        return False
                    if not data:
                        return False
                    seen += data
            return token in seen
        steps = [wait_for(b"Escape character is", 10), wait_for(b"fake-vmm serial ready", 10)]
        os.write(fd, probe.encode() + b"\r")
        steps.append(wait_for(probe.encode() + b"\r\n", 10))
        os.write(fd, b"\x1d")
        status = None
        deadline = time.time() + 10
        while status is None and time.time() < deadline:
            wait_for(b"\x00never", 0.05)
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(code)
        if status is None:
            os.kill(pid, 9)
        print("steps", " ".join("ok" if step else "missing" for step in steps))
        print("exit", status)
        print("transcript", repr(seen))
        """#
}

enum DaemonProcessError: Error, CustomStringConvertible {
    case missingExecutable(String)
    case notListening(log: String)

    var description: String {
        switch self {
        case .missingExecutable(let path): return "\(path) is missing; build it with `swift build` first"
        case .notListening(let log): return "swiftvirtd did not start listening; its log:\n\(log)"
        }
    }
}

/// Runs `body` with a daemon on a fresh fixture; stops the daemon and every VMM afterwards.
func withDaemonProcess(_ body: (DaemonProcess) async throws -> Void) async throws {
    try await withFixture { fixture in
        let daemon = DaemonProcess(fixture: fixture)
        do {
            try await daemon.start()
            try await body(daemon)
        } catch {
            try? await daemon.kill9()
            Issue.record("daemon log:\n\(daemon.daemonLog())")
            throw error
        }
        try await daemon.stop()
    }
}
