import Foundation
import Testing

/// `map`: JSON extents compared member by member (depth, present, zero, data, offset) and the human
/// table, including qemu-img's refusal to show compressed clusters in it.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct MapTests {
    @Test func mapsLikeQemuImg() throws {
        let scratch = try Scratch()
        let fixtures = try scratch.directory("fixtures")
        try Fixtures.overlay(in: fixtures)
        try Fixtures.raw(in: fixtures)
        try Fixtures.features(in: fixtures)
        try Fixtures.version2(in: fixtures)
        let chain = try Fixtures.chain(in: fixtures)
        let files = ["data.qcow2", "top.qcow2", "disk.raw", "features.qcow2", "v2.qcow2"] + chain
        let cases: [[String]] = [
            ["data.qcow2"], ["top.qcow2"], ["disk.raw"], ["-f", "raw", "data.qcow2"], ["features.qcow2"],
            ["v2.qcow2"], ["chain.qcow2"], ["mid.qcow2"], ["--start-offset=64k", "--max-length=2M", "top.qcow2"],
        ]
        for arguments in cases {
            let json = try SideBySide.run(
                ["map", "--output=json"] + arguments, files: files, from: fixtures, in: scratch)
            json.expectIdenticalOutput("\(arguments)")
            let differences = JSONComparison.differences(
                try JSONComparison.parse(json.ours.stdout), try JSONComparison.parse(json.qemu.stdout))
            #expect(differences.isEmpty, "\(arguments): \(differences)")
            let human = try SideBySide.run(["map"] + arguments, files: files, from: fixtures, in: scratch)
            human.expectIdenticalOutput("\(arguments)")
        }
    }
}
