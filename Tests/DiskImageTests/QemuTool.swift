import Foundation

/// Runs qemu-img and qemu-io (QEMU 7.2 on the test hosts) for interoperability tests.
enum QemuTool {
    static let imagePath = "/usr/bin/qemu-img"
    static let ioPath = "/usr/bin/qemu-io"

    struct Failure: Error, CustomStringConvertible {
        let command: String
        let status: Int32
        let output: String
        var description: String { "\(command) exited \(status): \(output)" }
    }

    static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: imagePath) && FileManager.default.isExecutableFile(atPath: ioPath)
    }

    /// Runs `tool` and returns its exit status and combined output.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// qemu-img, throwing unless it exits 0.
    @discardableResult
    static func image(_ arguments: String...) throws -> String {
        let result = try run(imagePath, arguments)
        guard result.status == 0 else {
            throw Failure(
                command: "qemu-img " + arguments.joined(separator: " "), status: result.status, output: result.output)
        }
        return result.output
    }

    /// qemu-img's exit status (check: 0 clean, 2 corruptions, 3 leaks; compare: 0 identical, 1 different).
    static func imageStatus(_ arguments: String...) throws -> (status: Int32, output: String) {
        try run(imagePath, arguments)
    }

    /// qemu-io running `commands` (each one `-c`), throwing unless it exits 0 without error lines.
    static func io(_ path: String, format: String = "qcow2", _ commands: [String]) throws {
        var arguments = ["-f", format]
        for command in commands { arguments += ["-c", command] }
        arguments.append(path)
        let result = try run(ioPath, arguments)
        guard result.status == 0, !result.output.contains("error"), !result.output.contains("failed") else {
            throw Failure(
                command: "qemu-io " + arguments.joined(separator: " "), status: result.status, output: result.output)
        }
    }

    /// The image's contents as raw bytes, via `qemu-img convert -O raw`.
    static func rawContents(of path: String, in directory: ScratchDirectory) throws -> [UInt8] {
        let output = directory.file("converted-\(UUID().uuidString).raw")
        try image("convert", "-O", "raw", path, output)
        defer { try? FileManager.default.removeItem(atPath: output) }
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
    }
}
