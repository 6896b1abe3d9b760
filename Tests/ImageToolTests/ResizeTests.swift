import Foundation
import Testing

/// `resize`: absolute, +size and -size (with --shrink) on raw and qcow2, with and without snapshots,
/// giving the sizes and contents qemu-img gives and images it calls clean.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct ResizeTests {
    static let cases: [[String]] = [
        ["data.qcow2", "+1M"], ["data.qcow2", "-1M"], ["--shrink", "data.qcow2", "-1M"],
        ["--shrink", "data.qcow2", "1M"],
        ["data.qcow2", "100M"], ["data.qcow2", "1000"], ["-f", "raw", "disk.raw", "20M"],
        ["-f", "raw", "disk.raw", "1M"],
        ["-f", "raw", "--shrink", "disk.raw", "1M"], ["snapshots.qcow2", "+1M"], ["--shrink", "snapshots.qcow2", "8M"],
        ["data.qcow2", "+abc"], ["data.qcow2"], ["features.qcow2", "+64M"], ["--shrink", "features.qcow2", "-7M"],
        ["top.qcow2", "32M"], ["--shrink", "top.qcow2", "2M"], ["-q", "data.qcow2", "20M"], ["data.qcow2", "1001"],
        ["disk.raw", "8M"],
    ]

    @Test func resizesLikeQemuImg() throws {
        let scratch = try Scratch()
        let fixtures = try scratch.directory("fixtures")
        try Fixtures.overlay(in: fixtures)
        try Fixtures.raw(in: fixtures)
        try Fixtures.snapshots(in: fixtures)
        try Fixtures.features(in: fixtures)
        let files = ["data.qcow2", "top.qcow2", "disk.raw", "snapshots.qcow2", "features.qcow2"]
        for arguments in Self.cases {
            let run = try SideBySide.run(["resize"] + arguments, files: files, from: fixtures, in: scratch)
            run.expectIdenticalOutput("\(arguments)")
            guard let name = arguments.first(where: { files.contains($0) }) else { continue }
            #expect(try run.contentsMatch(name), "\(arguments)")
            let size = { (directory: String) throws -> String in
                try ToolProcess.run(ToolProcess.qemuImg, ["info", name], in: directory).stdout
                    .split(separator: "\n").first { $0.hasPrefix("virtual size") }.map(String.init) ?? ""
            }
            #expect(try size(run.oursDirectory) == size(run.qemuDirectory), "\(arguments)")
            if name.hasSuffix(".qcow2") {
                #expect(try ToolProcess.run(ToolProcess.qemuImg, ["check", name], in: run.oursDirectory).status == 0)
            }
        }
    }

    @Test func snapshotsKeepTheirSizeAcrossResizes() throws {
        let scratch = try Scratch()
        let directory = try scratch.directory("work")
        let image = directory + "/" + (try Fixtures.snapshots(in: directory))
        let before = scratch.file("first.raw")
        #expect(try ToolProcess.ours(["resize", "--shrink", image, "4M"]).status == 0)
        #expect(try ToolProcess.ours(["resize", image, "+60M"]).status == 0)
        try ToolProcess.qemuSucceeds("snapshot", "-a", "first", image)
        try ToolProcess.qemuSucceeds("convert", "-O", "raw", image, before)
        #expect(try ToolProcess.qemuSucceeds("info", image).contains("virtual size: 16 MiB"))
        #expect(try ToolProcess.ours(["resize", image, "64M"]).status == 0)
        #expect(try ToolProcess.ours(["snapshot", "-a", "first", image]).status == 0)
        #expect(try ToolProcess.qemuSucceeds("info", image).contains("virtual size: 16 MiB"))
        #expect(try ToolProcess.run(ToolProcess.qemuImg, ["compare", image, before]).status == 0)
        #expect(try ToolProcess.run(ToolProcess.qemuImg, ["check", image]).status == 0)
    }
}
