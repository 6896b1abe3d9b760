import Foundation
import Synchronization

/// Where the test guest is: $SWIFTVIRT_GUEST_DIR, else the build script's cache (`scripts/guest/build.sh`).
enum TestGuest {
    static var directory: URL {
        if let path = ProcessInfo.processInfo.environment["SWIFTVIRT_GUEST_DIR"] {
            return URL(fileURLWithPath: path)
        }
        let cache =
            ProcessInfo.processInfo.environment["SWIFTVIRT_CACHE"]
            ?? (NSHomeDirectory() + "/.cache/swiftvirt")
        return URL(fileURLWithPath: cache + "/guest/current")
    }

    static var vmlinux: String { directory.appendingPathComponent("vmlinux").path }
    static var bzImage: String { directory.appendingPathComponent("bzImage").path }
    static var initramfs: String { directory.appendingPathComponent("initramfs.cpio.gz").path }

    /// The swiftvirt executable SwiftPM built next to this test bundle.
    static var swiftvirt: String {
        if let path = ProcessInfo.processInfo.environment["SWIFTVIRT_BIN"] { return path }
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        return bundle.appendingPathComponent("swiftvirt").path
    }
}

/// A `swiftvirt run` child process whose serial console the test reads and types into.
final class GuestProcess: @unchecked Sendable {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let buffer = ConsoleBuffer()
    /// Offset into the output up to which `expect` has consumed.
    private var cursor = 0

    /// - Parameter launcher: a command that runs swiftvirt for us (e.g. `ip netns exec NS`).
    init(
        kernel: String, cpus: Int, memory: String = "256M", extraArguments: [String] = [], launcher: [String] = []
    ) throws {
        let arguments =
            [
                TestGuest.swiftvirt, "run", "--kernel", kernel, "--initrd", TestGuest.initramfs, "--cpus", String(cpus),
                "--memory", memory, "--cmdline", "console=ttyS0 8250.nr_uarts=1 panic=-1", "--verbose",
            ] + extraArguments
        let command = launcher + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        // The console also streams to a file as it arrives, to watch a long boot: tail -f it.
        let livePath = FileManager.default.temporaryDirectory.appendingPathComponent(
            "swiftvirt-console-live-\(getpid())-\(URL(fileURLWithPath: kernel).lastPathComponent).log"
        ).path
        _ = FileManager.default.createFile(atPath: livePath, contents: nil)
        let live = FileHandle(forWritingAtPath: livePath)
        output.fileHandleForReading.readabilityHandler = { [buffer] handle in
            let data = handle.availableData
            guard !data.isEmpty else { return }
            buffer.bytes.withLock { $0.append(contentsOf: data) }
            live?.write(data)
        }
        try process.run()
    }

    var transcript: String { String(decoding: buffer.bytes.withLock { $0 }, as: UTF8.self) }

    /// Waits until `text` appears after the last match; returns everything up to and including it.
    @discardableResult
    func expect(_ text: String, timeout: TimeInterval) throws -> String {
        let needle = Array(text.utf8)
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let found: (String, Int)? = buffer.bytes.withLock { bytes in
                guard bytes.count >= cursor + needle.count else { return nil }
                var index = cursor
                while index + needle.count <= bytes.count {
                    if bytes[index..<(index + needle.count)].elementsEqual(needle) {
                        let end = index + needle.count
                        return (String(decoding: bytes[cursor..<end], as: UTF8.self), end)
                    }
                    index += 1
                }
                return nil
            }
            if let (text, end) = found {
                cursor = end
                return text
            }
            if !process.isRunning { break }
            usleep(50_000)
        }
        throw GuestTimeout(waitingFor: text, transcript: transcript)
    }

    /// Types a line on the guest console. Slowly: the UART's receive FIFO holds 64 bytes.
    func type(_ line: String) {
        for chunk in Array((line + "\n").utf8).chunked(16) {
            input.fileHandleForWriting.write(Data(chunk))
            usleep(20_000)
        }
    }

    /// Runs a shell command and returns its output between unique markers.
    func run(_ command: String, timeout: TimeInterval = 60) throws -> String {
        let marker = "M\(UInt32.random(in: 1000...9999))"
        // The marker is split so the echoed command line does not match it.
        type("echo \(marker)-BEGIN; \(command); echo \(marker)-\"END\"")
        try expect("\(marker)-BEGIN\r\n", timeout: timeout)
        let text = try expect("\(marker)-END", timeout: timeout)
        return String(text.dropLast("\(marker)-END".count)).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Waits for the process to exit; returns its exit status or nil on timeout (then kills it).
    func waitForExit(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(100_000) }
        if process.isRunning {
            process.terminate()
            return nil
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}

/// Console output collected from the child's pipe on a background thread.
final class ConsoleBuffer: Sendable {
    let bytes = Mutex<[UInt8]>([])
}

struct GuestTimeout: Error, CustomStringConvertible {
    let waitingFor: String
    let transcript: String
    var description: String { "timed out waiting for \(waitingFor.debugDescription); console so far:\n\(transcript)" }
}

extension Array {
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
