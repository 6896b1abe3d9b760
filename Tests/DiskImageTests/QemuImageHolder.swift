import Foundation

/// A QEMU process holding an image open with its image locks: qemu-system-x86_64 paused (-S) with no
/// machine and the image as a drive (no KVM needed), or qemu-io waiting for commands on a pipe. A drive
/// without a device takes no permissions of its own, so a raw image is held by qemu-io. Stopped with
/// SIGKILL on `stop` or release.
final class QemuImageHolder {
    static let systemPath = "/usr/bin/qemu-system-x86_64"
    private let process = Process()
    private let input = Pipe()

    /// Starts the holder and waits (bounded) until its locks show in /proc/locks.
    init(path: String, format: String = "qcow2", readOnly: Bool = false) throws {
        if format == "qcow2" && FileManager.default.isExecutableFile(atPath: Self.systemPath) {
            process.executableURL = URL(fileURLWithPath: Self.systemPath)
            let drive = "file=\(path),format=\(format),if=none,id=disk0" + (readOnly ? ",readonly=on" : "")
            process.arguments = ["-machine", "none", "-S", "-nodefaults", "-display", "none", "-drive", drive]
        } else {
            process.executableURL = URL(fileURLWithPath: QemuTool.ioPath)
            process.arguments = ["-f", format] + (readOnly ? ["-r"] : []) + [path]
        }
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        var status = stat()
        guard stat(path, &status) == 0 else { throw QemuTool.Failure(command: "stat", status: errno, output: path) }
        let needle = ":\(status.st_ino) 100 "
        for _ in 0..<200 {
            let locks = (try? String(contentsOfFile: "/proc/locks", encoding: .utf8)) ?? ""
            if locks.split(separator: "\n").contains(where: { $0.contains(needle) }) { return }
            guard process.isRunning else { break }
            usleep(50_000)
        }
        stop()
        throw QemuTool.Failure(command: "holding \(path)", status: -1, output: "no QEMU lock appeared")
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit {
        stop()
    }
}
