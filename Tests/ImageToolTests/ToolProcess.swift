import Foundation

/// Runs swiftvirt-img (built next to this test bundle) and qemu-img 7.2 (/usr/bin/qemu-img) with the same
/// arguments, capturing stdout, stderr and the exit status separately.
enum ToolProcess {
    struct Outcome: CustomStringConvertible {
        var status: Int32
        var stdout: String
        var stderr: String
        var description: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
    }

    static let qemuImg = "/usr/bin/qemu-img"
    static let qemuIo = "/usr/bin/qemu-io"

    /// The swiftvirt-img executable SwiftPM built next to this test bundle (or $SWIFTVIRT_IMG).
    static var swiftvirtImg: String {
        if let path = ProcessInfo.processInfo.environment["SWIFTVIRT_IMG"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("swiftvirt-img").path
    }

    static var qemuAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: qemuImg) && FileManager.default.isExecutableFile(atPath: qemuIo)
    }

    static func run(_ executable: String, _ arguments: [String], in directory: String? = nil) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Read both pipes concurrently so a full stderr pipe cannot stall the child.
        let errorData = ErrorCollector(errors.fileHandleForReading)
        let outputData = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
            stderr: String(decoding: errorData.finish(), as: UTF8.self))
    }

    /// swiftvirt-img.
    static func ours(_ arguments: [String], in directory: String? = nil) throws -> Outcome {
        try run(swiftvirtImg, arguments, in: directory)
    }

    /// qemu-img, with its name in messages replaced by ours so outputs compare directly.
    static func qemu(_ arguments: [String], in directory: String? = nil) throws -> Outcome {
        var outcome = try run(qemuImg, arguments, in: directory)
        outcome.stdout = outcome.stdout.replacingOccurrences(of: "qemu-img", with: "swiftvirt-img")
        outcome.stderr = outcome.stderr.replacingOccurrences(of: "qemu-img", with: "swiftvirt-img")
        return outcome
    }

    /// qemu-img that must succeed; returns stdout.
    @discardableResult
    static func qemuSucceeds(_ arguments: String...) throws -> String {
        let outcome = try run(qemuImg, arguments)
        guard outcome.status == 0 else { throw Failure("qemu-img \(arguments.joined(separator: " ")): \(outcome)") }
        return outcome.stdout
    }

    /// qemu-io running `commands` on `path`.
    static func qemuIo(_ path: String, format: String = "qcow2", _ commands: String...) throws {
        var arguments = ["-f", format]
        for command in commands { arguments += ["-c", command] }
        let outcome = try run(qemuIo, arguments + [path])
        guard outcome.status == 0, !outcome.stdout.contains("error"), !outcome.stderr.contains("error") else {
            throw Failure("qemu-io \(arguments.joined(separator: " ")) \(path): \(outcome)")
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

/// Drains a pipe on a background thread.
private final class ErrorCollector: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func finish() -> Data {
        done.wait()
        return data
    }
}
