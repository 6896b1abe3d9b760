import ArgumentParser

#if canImport(Glibc)
    import Glibc
#endif

/// `swiftvirt-img`: qemu-img's command line (QEMU 7.2) over the DiskImage library. Messages and exit
/// codes follow qemu-img's so that scripts written for one work with the other.
@main
struct ImageTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: ToolOutput.toolName,
        abstract: "Create, inspect, convert and modify raw and qcow2 disk images (qemu-img compatible).",
        version: "swiftvirt-img version 1.0 (qemu-img 7.2 compatible)",
        subcommands: [
            Create.self, Info.self, Check.self, Convert.self, Compare.self, Map.self, Snapshot.self,
            Resize.self, Rebase.self, Commit.self, Measure.self, Amend.self, DD.self, Bench.self,
        ])

    static func main() {
        let status = ToolRunner.run(Array(CommandLine.arguments.dropFirst()))
        Glibc.exit(status)
    }
}
