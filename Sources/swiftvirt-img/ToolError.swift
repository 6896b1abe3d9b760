/// A failure to report the way qemu-img does: one message line, optional hint lines, and for usage
/// errors a pointer to --help; `exitCode` is the process status (1 for almost everything).
struct ToolError: Error {
    var message: String
    /// Extra lines printed after the message without the tool prefix (qemu's error hints).
    var hints: [String] = []
    /// Append "Try 'swiftvirt-img --help' for more information".
    var isUsage = false
    var exitCode: Int32 = 1

    init(_ message: String, hints: [String] = [], exitCode: Int32 = 1) {
        self.message = message
        self.hints = hints
        self.exitCode = exitCode
    }

    /// A command line mistake.
    static func usage(_ message: String) -> ToolError {
        var error = ToolError(message)
        error.isUsage = true
        return error
    }

    /// The same error with "prefix: " in front of the message (qemu-img names the file it was creating).
    func prefixed(_ prefix: String) -> ToolError {
        var error = self
        error.message = prefix + ": " + message
        return error
    }

    /// The same error with another exit status.
    func withExitCode(_ code: Int32) -> ToolError {
        var error = self
        error.exitCode = code
        return error
    }
}
