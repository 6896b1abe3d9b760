import Foundation
import Testing

/// `measure`: required and fully allocated sizes as qemu-img computes them, in both output formats.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct MeasureTests {
    static let cases: [[String]] = [
        ["-O", "qcow2", "data.qcow2"], ["--size", "1G", "-O", "qcow2"], ["-O", "raw", "data.qcow2"], ["data.qcow2"],
        ["-O", "qcow2", "disk.raw"], ["-O", "qcow2", "-o", "preallocation=full", "disk.raw"],
        ["-O", "qcow2", "-o", "refcount_bits=64", "--size", "100G"], ["--size", "1000", "-O", "qcow2"],
        ["--size", "1P", "-O", "qcow2"], ["-O", "qcow2", "-o", "backing_file=data.qcow2", "top.qcow2"],
        ["-O", "qcow2", "top.qcow2"], ["-O", "qcow2", "features.qcow2"],
        ["-O", "qcow2", "-o", "cluster_size=2M,refcount_bits=1", "disk.raw"],
        ["--size", "1G", "-O", "qcow2", "-o", "extended_l2=on"], ["--size", "1G", "-O", "qcow2", "-o", "foo=1"],
        ["--size", "1G", "data.qcow2"], ["-O", "qcow2"], ["--size", "1G", "-O", "qcow2", "-o", "cluster_size=3k"],
        ["--size", "1G", "-O", "qcow2", "-o", "compat=0.10,refcount_bits=8"],
        ["-O", "qcow2", "-o", "compat=2", "disk.raw"],
        ["--size", "100E", "-O", "qcow2"], ["data.qcow2", "disk.raw"],
    ]

    @Test func measuresLikeQemuImg() throws {
        let scratch = try Scratch()
        let fixtures = try scratch.directory("fixtures")
        try Fixtures.overlay(in: fixtures)
        try Fixtures.raw(in: fixtures)
        try Fixtures.features(in: fixtures)
        let files = ["data.qcow2", "top.qcow2", "disk.raw", "features.qcow2"]
        for arguments in Self.cases {
            let human = try SideBySide.run(["measure"] + arguments, files: files, from: fixtures, in: scratch)
            human.expectIdenticalOutput("\(arguments)")
            let json = try SideBySide.run(
                ["measure", "--output=json"] + arguments, files: files, from: fixtures, in: scratch)
            json.expectIdenticalOutput("\(arguments)")
            if json.qemu.status == 0 {
                let differences = JSONComparison.differences(
                    try JSONComparison.parse(json.ours.stdout), try JSONComparison.parse(json.qemu.stdout))
                #expect(differences.isEmpty, "\(arguments): \(differences)")
            }
        }
    }
}
