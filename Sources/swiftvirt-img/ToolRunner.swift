import ArgumentParser

/// Parses the command line, runs the subcommand and maps every failure to qemu-img's conventions:
/// "swiftvirt-img: message" on stderr, a "Try ... --help" line after usage errors, exit status 1.
enum ToolRunner {
    static func run(_ arguments: [String]) -> Int32 {
        guard let first = arguments.first else {
            ToolOutput.report(ToolError.usage("Not enough arguments"))
            return 1
        }
        if !first.hasPrefix("-"), !ImageTool.configuration.subcommands.contains(where: { $0._commandName == first }) {
            ToolOutput.report(ToolError.usage("Command not found: \(first)"))
            return 1
        }
        if let command = ImageTool.configuration.subcommands.first(where: { $0._commandName == first }),
            arguments.dropFirst().contains(where: { $0 == "--help" || $0 == "-h" })
        {
            ToolOutput.out(ImageTool.helpMessage(for: command) + "\n")
            return 0
        }
        let parsed: ParsableCommand
        do {
            parsed = try ImageTool.parseAsRoot(preprocess(arguments))
        } catch {
            if ImageTool.exitCode(for: error) == .success {
                ToolOutput.out(ImageTool.fullMessage(for: error) + "\n")
                return 0
            }
            ToolOutput.report(ToolError.usage(ParserMessage.qemuStyle(ImageTool.message(for: error))))
            return 1
        }
        guard var command = parsed as? any ImageCommand else {
            ToolOutput.out(ImageTool.helpMessage() + "\n")
            return 0
        }
        do {
            return try command.execute()
        } catch {
            ToolOutput.report(error)
            return error.exitCode
        }
    }

    /// qemu-img takes resize's last argument out before option parsing so that "-1G" is a size, not an
    /// option; the same is done here by putting "--" in front of it.
    static func preprocess(_ arguments: [String]) -> [String] {
        guard arguments.first == "resize", arguments.count >= 3, !arguments.contains("--"),
            let last = arguments.last, last.hasPrefix("-"), last != "--shrink", last.count > 1
        else { return arguments }
        return arguments.dropLast() + ["--", last]
    }
}
