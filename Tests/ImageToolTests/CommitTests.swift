import Foundation
import Testing

/// `commit`: the overlay's data goes into its backing file (or -b further down), which then reads as the
/// overlay did; the overlay is emptied unless -d (or -b); qemu-img compare confirms each step.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct CommitTests {
    @Test(arguments: [
        ["chain.qcow2"], ["-d", "chain.qcow2"], ["-b", "base.qcow2", "chain.qcow2"], ["-p", "chain.qcow2"],
        ["-q", "mid.qcow2"],
    ])
    func commitsLikeQemuImg(_ arguments: [String]) throws {
        let scratch = try Scratch()
        let fixtures = try scratch.directory("fixtures")
        let chain = try Fixtures.chain(in: fixtures)
        let name = arguments[arguments.count - 1]
        let expected = scratch.file("expected.raw")
        try ToolProcess.qemuSucceeds("convert", "-O", "raw", fixtures + "/" + name, expected)
        let run = try SideBySide.run(["commit"] + arguments, files: chain, from: fixtures, in: scratch)
        #expect(run.ours.status == 0 && run.qemu.status == 0, "\(run.ours)")
        #expect(run.ours.stdout.hasSuffix("Image committed.\n") || arguments.contains("-q"))
        #expect(run.ours.stderr == run.qemu.stderr)
        // The image committed into reads as the top did; every file reads as qemu-img left it.
        let target = arguments.contains("-b") ? "base.qcow2" : (name == "chain.qcow2" ? "mid.qcow2" : "base.qcow2")
        let compare = try ToolProcess.run(ToolProcess.qemuImg, ["compare", target, expected], in: run.oursDirectory)
        #expect(compare.status == 0, "\(compare)")
        for file in chain {
            #expect(try run.contentsMatch(file), "\(file)")
            #expect(try ToolProcess.run(ToolProcess.qemuImg, ["check", file], in: run.oursDirectory).status == 0)
        }
        if !arguments.contains("-d") && !arguments.contains("-b") {
            // Emptied: nothing left in the top layer.
            let map = try ToolProcess.run(ToolProcess.qemuImg, ["map", "--output=json", name], in: run.oursDirectory)
            #expect(!map.stdout.contains("\"depth\": 0, \"present\": true"), "\(map.stdout)")
        }
    }

    @Test func failsLikeQemuImg() throws {
        let scratch = try Scratch()
        let fixtures = try scratch.directory("fixtures")
        let chain = try Fixtures.chain(in: fixtures)
        for arguments in [["base.qcow2"], ["-b", "nothere.qcow2", "chain.qcow2"], [], ["chain.qcow2", "mid.qcow2"]] {
            let run = try SideBySide.run(["commit"] + arguments, files: chain, from: fixtures, in: scratch)
            run.expectIdenticalOutput("\(arguments)")
        }
    }
}
