#if canImport(Glibc)
    import Glibc
#endif

/// stdout and stderr, written straight to file descriptors 1 and 2 in call order, so the progress
/// bar's "\r" lines, reports and messages interleave as qemu-img's do.
enum ToolOutput {
    static let toolName = "swiftvirt-img"

    static func out(_ text: String) {
        write(text, to: 1)
    }

    /// A line on stderr, as is.
    static func errorLine(_ text: String) {
        write(text + "\n", to: 2)
    }

    /// "swiftvirt-img: message" on stderr (qemu's error_report).
    static func error(_ message: String) {
        errorLine(toolName + ": " + message)
    }

    /// "swiftvirt-img: warning: message" on stderr (qemu's warn_report).
    static func warning(_ message: String) {
        errorLine(toolName + ": warning: " + message)
    }

    static func report(_ failure: ToolError) {
        error(failure.message)
        for hint in failure.hints { errorLine(hint) }
        if failure.isUsage { errorLine("Try '\(toolName) --help' for more information") }
    }

    /// write(2) until done; a closed pipe or a full disk ends the attempt (nothing else to do).
    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var done = 0
            while done < buffer.count {
                let count = Glibc.write(descriptor, base + done, buffer.count - done)
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { return }
                done += count
            }
        }
    }
}
