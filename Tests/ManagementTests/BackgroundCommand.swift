import Foundation

/// A client that keeps running while a test drives the daemon (`virsh event --loop`, a python3-libvirt
/// event listener): its output goes to a file the test reads as it grows.
final class BackgroundCommand: Sendable {
    let outputPath: String
    private let process: Process

    init(_ executable: String, _ arguments: [String], environment: [String: String], outputPath: String) throws {
        self.outputPath = outputPath
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try output.close()
        self.process = process
    }

    /// Everything printed so far.
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Stops it with `signal` and waits, killing it if it does not end within 30 s.
    func stop(signal: Int32 = SIGTERM) async throws {
        let process = process
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
        try await blocking {
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }
}

extension DaemonProcess {
    func virshInBackground(_ arguments: String...) throws -> BackgroundCommand {
        try BackgroundCommand(
            "/usr/bin/virsh", ["-c", uri] + arguments,
            environment: ["LC_ALL": "C", "HOME": fixture.directory, "PATH": "/usr/bin:/bin"],
            outputPath: fixture.directory + "/virsh-\(UUID().uuidString).out")
    }

    func pythonInBackground(_ script: String, _ arguments: String...) throws -> BackgroundCommand {
        let path = fixture.directory + "/script-\(UUID().uuidString).py"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        return try BackgroundCommand(
            "/usr/bin/python3", ["-u", path] + arguments, environment: ["LC_ALL": "C", "PATH": "/usr/bin:/bin"],
            outputPath: path + ".out")
    }
}
