import Foundation
import Testing

/// `compare`: "Images are identical." / "Content mismatch at offset N!", strict mode, and exit statuses
/// 0 identical, 1 different, 2 error, as qemu-img.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct CompareTests {
    @Test func comparesLikeQemuImg() throws {
        let scratch = try Scratch()
        let fixtures = try scratch.directory("fixtures")
        try Fixtures.overlay(in: fixtures)
        try Fixtures.snapshots(in: fixtures)
        try ToolProcess.qemuSucceeds("convert", "-O", "raw", fixtures + "/data.qcow2", fixtures + "/data.raw")
        try ToolProcess.qemuSucceeds("convert", "-O", "raw", fixtures + "/top.qcow2", fixtures + "/top.raw")
        try ToolProcess.qemuSucceeds("create", "-q", "-f", "raw", fixtures + "/big.raw", "20M")
        try FileManager.default.copyItem(atPath: fixtures + "/big.raw", toPath: fixtures + "/big2.raw")
        try ToolProcess.qemuIo(fixtures + "/big2.raw", format: "raw", "write -P 9 18M 4k")
        let files = ["data.qcow2", "top.qcow2", "snapshots.qcow2", "data.raw", "top.raw", "big.raw", "big2.raw"]
        let cases: [([String], Int32)] = [
            (["data.qcow2", "top.qcow2"], 1), (["data.qcow2", "data.raw"], 0), (["-s", "data.qcow2", "data.raw"], 1),
            (["data.raw", "big.raw"], 1), (["-s", "data.raw", "big.raw"], 1), (["big.raw", "big2.raw"], 1),
            (["data.raw", "nothere"], 2), (["-f", "raw", "-F", "qcow2", "data.raw", "data.raw"], 2),
            (["-f", "qcow2", "-F", "raw", "data.qcow2", "data.raw"], 0), (["top.qcow2", "top.raw"], 0),
            (["-s", "top.qcow2", "top.qcow2"], 0), (["-q", "data.qcow2", "top.qcow2"], 1), (["data.qcow2"], 1),
            (["-p", "data.qcow2", "data.raw"], 0), (["-s", "data.qcow2", "snapshots.qcow2"], 1),
        ]
        for (arguments, status) in cases {
            let run = try SideBySide.run(["compare"] + arguments, files: files, from: fixtures, in: scratch)
            run.expectIdenticalOutput("\(arguments)")
            #expect(run.ours.status == status, "\(arguments)")
        }
    }
}
