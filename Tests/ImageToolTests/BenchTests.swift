import Foundation
import Testing

/// `bench`: qemu-img's lines, checks and exit statuses (the run time aside), the same bytes written;
/// and image locking between the two tools while one of them benchmarks an image.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct BenchTests {
    static let cases: [[String]] = [
        ["-c", "100", "data.qcow2"], ["-w", "-c", "50", "--pattern", "0x5a", "-S", "69632", "data.qcow2"],
        ["-w", "-f", "raw", "-c", "300", "-s", "512", "-o", "3M", "-d", "8", "disk.raw"],
        ["-w", "-c", "40", "-d", "4", "--flush-interval", "8", "--no-drain", "-t", "unsafe", "top.qcow2"],
        ["-c", "256", "-s", "8192", "-S", "4096", "-f", "raw", "disk.raw"], ["-c", "2", "-o", "5M", "disk.raw"],
        ["-c", "3", "-q", "-i", "threads", "top.qcow2"], ["-c", "0", "data.qcow2"],
        ["-c", "abc", "data.qcow2"], ["-d", "x", "data.qcow2"], ["-s", "1x", "data.qcow2"],
        ["--pattern", "300", "data.qcow2"], ["--flush-interval", "64", "data.qcow2"],
        ["-w", "--flush-interval", "2", "data.qcow2"], ["-t", "bogus", "data.qcow2"], ["-i", "x", "data.qcow2"],
        ["-n", "data.qcow2"], ["-w", "-U", "data.qcow2"], [], ["data.qcow2", "disk.raw"], ["nothere.qcow2"],
    ]

    @Test func benchesLikeQemuImg() throws {
        let scratch = try Scratch()
        let (fixtures, files) = try Fixtures.overlayAndRaw(in: scratch)
        for arguments in Self.cases {
            var run = try SideBySide.run(["bench"] + arguments, files: files, from: fixtures, in: scratch)
            run.qemu.stdout = Self.withoutTime(run.qemu.stdout)
            run.ours.stdout = Self.withoutTime(run.ours.stdout)
            run.expectIdenticalOutput("\(arguments)")
            if arguments.contains("-w") {
                for name in files { #expect(try run.contentsMatch(name), "\(arguments) \(name)") }
            }
        }
    }

    /// "Run completed in 0.012 seconds." with the time taken out.
    static func withoutTime(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasPrefix("Run completed in ") ? "Run completed" : String(line)
        }.joined(separator: "\n")
    }

    @Test func qemuImgIsRefusedAnImageWeBenchmark() throws {
        let scratch = try Scratch()
        let path = try Fixtures.data(in: scratch.path)
        let writer = try BusyWriter(ToolProcess.swiftvirtImg, path, in: scratch.path)
        defer { writer.kill() }
        let info = try ToolProcess.qemu(["info", path], in: scratch.path)
        #expect(info.status == 1)
        #expect(
            info.stderr == """
                swiftvirt-img: Could not open '\(path)': Failed to get shared "write" lock
                Is another process using the image [\(path)]?

                """)
        #expect(try ToolProcess.run(ToolProcess.qemuImg, ["info", "-U", path], in: scratch.path).status == 0)
        let write = try ToolProcess.run(ToolProcess.qemuIo, ["-c", "write 0 4k", path], in: scratch.path)
        #expect(write.stderr.contains("Failed to get \"write\" lock"), "\(write)")
    }

    @Test func refusesAnImageQemuImgBenchmarks() throws {
        let scratch = try Scratch()
        let path = try Fixtures.data(in: scratch.path)
        try ToolProcess.qemuSucceeds(
            "create", "-q", "-f", "qcow2", "-b", path, "-F", "qcow2", scratch.file("top.qcow2"))
        let writer = try BusyWriter(ToolProcess.qemuImg, path, in: scratch.path)
        defer { writer.kill() }
        let commands: [[String]] = [
            ["info", path], ["check", path], ["map", path], ["compare", path, path], ["snapshot", "-l", path],
            ["measure", "-O", "qcow2", path], ["convert", "-O", "raw", path, "out.raw"],
            ["create", "-q", "-f", "qcow2", path, "1M"], ["convert", "-O", "qcow2", "top.qcow2", path],
            ["check", "-U", "-r", "all", path], ["resize", path, "32M"], ["bench", "-w", "-c", "1", path],
            ["info", "-U", path], ["dd", "-U", "if=\(path)", "of=copy.raw", "count=1"], ["commit", "top.qcow2"],
            ["rebase", "-b", "", "-u", "top.qcow2"],
        ]
        for arguments in commands {
            var qemu = try ToolProcess.qemu(arguments, in: scratch.path)
            var ours = try ToolProcess.ours(arguments, in: scratch.path)
            (qemu.stdout, ours.stdout) = (Self.withoutTime(qemu.stdout), Self.withoutTime(ours.stdout))
            #expect(ours.status == qemu.status, "\(arguments)\n\(ours)\n\(qemu)")
            #expect(ours.stderr == qemu.stderr, "\(arguments)")
            if arguments.first != "info" { #expect(ours.stdout == qemu.stdout, "\(arguments)") }
        }
    }
}

/// A `bench -w` that runs until killed, started by one tool so the other meets its image locks.
private final class BusyWriter {
    private let process = Process()

    /// Starts `tool` writing `path` and waits (bounded) until qemu-img sees the image in use.
    init(_ tool: String, _ path: String, in directory: String) throws {
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["bench", "-w", "-c", "2000000000", "-S", "65536", "-t", "unsafe", path]
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let log = URL(fileURLWithPath: directory).appendingPathComponent("busy-writer.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        defer { try? output.close() }
        process.standardOutput = output
        process.standardError = output
        let image = URL(fileURLWithPath: path, relativeTo: URL(fileURLWithPath: directory + "/")).path
        var status = stat()
        guard stat(image, &status) == 0 else { throw ToolProcess.Failure("cannot stat \(image)") }
        try process.run()
        // Watches /proc/locks for the writer's OFD lock on the image's "write" byte (100 + bit 1) rather
        // than probing with qemu-img: a probe that opens the image first holds its own locks and makes
        // the writer fail. Bounded by time: on a loaded machine the writer takes a while to start.
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && Date() < deadline {
            if Self.writeLockHeld(inode: UInt64(status.st_ino)) { return }
            usleep(25_000)
        }
        let running = process.isRunning
        kill()
        let written = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        throw ToolProcess.Failure(
            "\(tool) bench never held \(path) (\(running ? "still running" : "exited \(process.terminationStatus)"));"
                + " its output: \(written.suffix(500))")
    }

    /// Whether /proc/locks lists an OFD lock covering byte 101 (QEMU's "write" permission) of `inode`.
    /// Lines read `N: OFDLCK ADVISORY READ -1 MAJ:MIN:INODE START END` (adjacent bytes merge into one range).
    private static func writeLockHeld(inode: UInt64) -> Bool {
        guard let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else { return false }
        return locks.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 8, fields[1] == "OFDLCK", let start = UInt64(fields[6]), let end = UInt64(fields[7])
            else { return false }
            return fields[5].hasSuffix(":\(inode)") && (start...end).contains(101)
        }
    }

    func kill() {
        guard process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
