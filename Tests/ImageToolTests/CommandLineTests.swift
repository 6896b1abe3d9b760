import Foundation
import Testing

/// The command line itself: unknown commands and options, missing arguments and --help.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct CommandLineTests {
    @Test func rejectsBadCommandLinesLikeQemuImg() throws {
        let cases: [[String]] = [
            [], ["frob"], ["info"], ["info", "-Z", "x"], ["info", "--bogus", "x"], ["info", "-f"], ["check"],
            ["check", "-r", "foo", "x"], ["map"], ["compare", "x"], ["snapshot", "x", "y"], ["rebase", "x"],
            ["resize", "x"], ["commit"], ["amend", "x"], ["convert", "x"], ["measure"], ["dd"],
            ["create", "-f", "qcow2"], ["map", "--output=xml", "x"],
        ]
        for arguments in cases {
            let ours = try ToolProcess.ours(arguments)
            let qemu = try ToolProcess.qemu(arguments)
            #expect(ours.status == qemu.status, "\(arguments): \(ours)")
            #expect(ours.stderr == qemu.stderr, "\(arguments)")
        }
    }

    @Test func printsHelp() throws {
        let outcome = try ToolProcess.ours(["--help"])
        #expect(outcome.status == 0)
        for command in [
            "create", "info", "check", "convert", "compare", "map", "snapshot", "resize", "rebase",
            "commit", "measure", "amend", "dd",
        ] {
            #expect(outcome.stdout.contains(command))
        }
        let convert = try ToolProcess.ours(["convert", "--help"])
        #expect(convert.status == 0 && convert.stdout.contains("-O"))
    }
}
