import Foundation
import Testing

/// `rebase`: unsafe (-u) only relinks; safe mode first copies what the new backing file would change,
/// so the guest sees the same disk, as qemu-img does.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct RebaseTests {
    static func fixtures(_ scratch: Scratch) throws -> (String, [String]) {
        let directory = try scratch.directory("fixtures")
        let chain = try Fixtures.chain(in: directory)
        try Fixtures.data(in: directory)
        try ToolProcess.qemuSucceeds(
            "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", directory + "/small.qcow2", "8M")
        try ToolProcess.qemuIo(directory + "/small.qcow2", "write -P 4 7M 64k")
        try ToolProcess.qemuSucceeds(
            "create", "-q", "-f", "qcow2", "-u", "-b", "/nonexistent.qcow2", "-F", "qcow2",
            directory + "/dangling.qcow2",
            "1M")
        return (directory, chain + ["data.qcow2", "small.qcow2", "dangling.qcow2"])
    }

    static let cases: [[String]] = [
        ["-b", "base.qcow2", "-F", "qcow2", "chain.qcow2"], ["-b", "", "chain.qcow2"], ["-u", "chain.qcow2"],
        ["-b", "data.qcow2", "-F", "qcow2", "chain.qcow2"], ["-b", "mid.qcow2", "-F", "qcow2", "-p", "chain.qcow2"],
        ["-b", "data.qcow2", "-F", "qcow2", "small.qcow2"],
        ["-u", "-b", "base.qcow2", "-F", "qcow2", "dangling.qcow2"],
        ["-u", "-b", "/x/none.qcow2", "-F", "qcow2", "chain.qcow2"], ["-b", "base.qcow2", "chain.qcow2"],
        ["chain.qcow2"], ["-u", "-b", "base.qcow2", "chain.qcow2"],
        ["-b", "nothere.qcow2", "-F", "qcow2", "chain.qcow2"],
        ["-b", "base.qcow2", "-F", "vmdkz", "chain.qcow2"], ["-b", "base.qcow2", "-F", "qcow2", "dangling.qcow2"],
        ["-b", "base.qcow2", "-F", "qcow2", "data.qcow2"],
    ]

    @Test func rebasesLikeQemuImg() throws {
        let scratch = try Scratch()
        let (fixtures, files) = try Self.fixtures(scratch)
        for arguments in Self.cases {
            let run = try SideBySide.run(["rebase"] + arguments, files: files, from: fixtures, in: scratch)
            run.expectIdenticalOutput("\(arguments)")
            let name = arguments[arguments.count - 1]
            let info = { (directory: String) throws -> String in
                try ToolProcess.run(ToolProcess.qemuImg, ["info", "--output=json", name], in: directory).stdout
            }
            let differences = JSONComparison.differences(
                try JSONComparison.parse(try info(run.oursDirectory)),
                try JSONComparison.parse(try info(run.qemuDirectory)),
                ignoring: ["actual-size"])
            #expect(differences.isEmpty, "\(arguments): \(differences)")
            guard run.qemu.status == 0, !arguments.contains("/x/none.qcow2"), name != "dangling.qcow2" else { continue }
            // Safe mode keeps what the guest sees; -u keeps the bytes of the image itself.
            if !arguments.contains("-u") {
                let original = try ToolProcess.run(
                    ToolProcess.qemuImg, ["compare", fixtures + "/" + name, name], in: run.oursDirectory)
                #expect(original.status == 0, "\(arguments): \(original)")
            }
            #expect(try run.contentsMatch(name), "\(arguments)")
            #expect(try ToolProcess.run(ToolProcess.qemuImg, ["check", name], in: run.oursDirectory).status == 0)
        }
    }
}
