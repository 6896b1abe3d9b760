import ArgumentParser

/// A subcommand: parsed by ArgumentParser, then run by `ToolRunner`, which turns its result or error
/// into qemu-img's exit status.
protocol ImageCommand: ParsableCommand {
    /// Does the work and returns the exit status (0 success; some commands use others, as qemu-img does).
    mutating func execute() throws(ToolError) -> Int32
}

extension ImageCommand {
    /// Never called: `ToolRunner` calls `execute()`, whose status ArgumentParser's `run()` cannot carry.
    mutating func run() throws {
        let status = try execute()
        if status != 0 { throw ExitCode(status) }
    }
}
