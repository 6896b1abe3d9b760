import Foundation
import Testing

/// `info` on the same files: JSON compared member by member and human text line by line.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct InfoTests {
    static let cases: [[String]] = [
        ["data.qcow2"], ["top.qcow2"], ["--backing-chain", "top.qcow2"], ["disk.raw"], ["v2.qcow2"],
        ["features.qcow2"], ["snapshots.qcow2"], ["-f", "raw", "v2.qcow2"], ["--backing-chain", "chain.qcow2"],
        ["--backing-chain", "sub/overlay.qcow2"], ["-fqcow2", "data.qcow2"],
    ]

    static func fixtures(_ scratch: Scratch) throws -> (String, [String]) {
        let directory = try scratch.directory("fixtures")
        try Fixtures.overlay(in: directory)
        try Fixtures.raw(in: directory)
        try Fixtures.version2(in: directory)
        try Fixtures.features(in: directory)
        try Fixtures.snapshots(in: directory)
        let chain = try Fixtures.chain(in: directory)
        // A relative backing name from another directory: full-backing-filename joins the two.
        try FileManager.default.createDirectory(atPath: directory + "/sub", withIntermediateDirectories: true)
        try ToolProcess.qemuSucceeds(
            "create", "-q", "-f", "qcow2", "-b", "../data.qcow2", "-F", "qcow2", directory + "/sub/overlay.qcow2")
        return (
            directory,
            ["data.qcow2", "top.qcow2", "disk.raw", "v2.qcow2", "features.qcow2", "snapshots.qcow2", "sub"] + chain
        )
    }

    @Test func matchesQemuImgInBothFormats() throws {
        let scratch = try Scratch()
        let (fixtures, files) = try Self.fixtures(scratch)
        for arguments in Self.cases {
            let json = try SideBySide.run(
                ["info", "--output=json"] + arguments, files: files, from: fixtures, in: scratch)
            #expect(json.ours.status == 0 && json.qemu.status == 0, "\(arguments): \(json.ours)")
            // Same files, so every member matches, actual-size included; the text is even byte-identical
            // because members are printed in QEMU's QDict order.
            let differences = JSONComparison.differences(
                try JSONComparison.parse(json.ours.stdout), try JSONComparison.parse(json.qemu.stdout))
            #expect(differences.isEmpty, "\(arguments): \(differences)")
            #expect(json.ours.stdout == json.qemu.stdout, "\(arguments)")

            let human = try SideBySide.run(["info"] + arguments, files: files, from: fixtures, in: scratch)
            human.expectIdenticalOutput("\(arguments)")
        }
    }

    @Test func reportsTheFieldsQemuImgReports() throws {
        let scratch = try Scratch()
        let (fixtures, _) = try Self.fixtures(scratch)
        let outcome = try ToolProcess.ours(["info", "--output=json", "features.qcow2"], in: fixtures)
        let json = try #require(try JSONComparison.parse(outcome.stdout) as? [String: Any])
        #expect(json["virtual-size"] as? Int == 8 << 20)
        #expect(json["cluster-size"] as? Int == 16384)
        #expect(json["format"] as? String == "qcow2")
        #expect(json["dirty-flag"] as? Bool == false)
        let specific = try #require(json["format-specific"] as? [String: Any])
        #expect(specific["type"] as? String == "qcow2")
        let data = try #require(specific["data"] as? [String: Any])
        #expect(data["compat"] as? String == "1.1")
        #expect(data["compression-type"] as? String == "zstd")
        #expect(data["lazy-refcounts"] as? Bool == true)
        #expect(data["refcount-bits"] as? Int == 64)
        #expect(data["corrupt"] as? Bool == false)
        #expect(data["extended-l2"] as? Bool == true)

        let chained = try ToolProcess.ours(["info", "--output=json", "top.qcow2"], in: fixtures)
        let overlay = try #require(try JSONComparison.parse(chained.stdout) as? [String: Any])
        #expect(overlay["backing-filename"] as? String == "data.qcow2")
        #expect(overlay["full-backing-filename"] as? String == "data.qcow2")
        #expect(overlay["backing-filename-format"] as? String == "qcow2")
    }

    @Test func failsLikeQemuImg() throws {
        let scratch = try Scratch()
        let fixtures = try scratch.directory("fixtures")
        try Fixtures.data(in: fixtures)
        try Fixtures.raw(in: fixtures)
        try ToolProcess.qemuSucceeds(
            "create", "-q", "-f", "qcow2", "-u", "-b", "/nonexistent.qcow2", "-F", "qcow2",
            fixtures + "/dangling.qcow2",
            "1M")
        let files = ["data.qcow2", "disk.raw", "dangling.qcow2"]
        for arguments in [
            ["info", "dangling.qcow2"], ["info", "--backing-chain", "dangling.qcow2"], ["info", "-Z", "data.qcow2"],
            ["info", "--bogus", "data.qcow2"], ["info", "-f"], ["info"], ["info", "data.qcow2", "disk.raw"],
            ["info", "--output=xml", "data.qcow2"], ["frob"], [], ["info", "-f", "vmdkx", "data.qcow2"],
            ["info", "-f", "qcow2", "disk.raw"], ["info", "nothere"],
        ] {
            let run = try SideBySide.run(arguments, files: files, from: fixtures, in: scratch)
            run.expectIdenticalOutput("\(arguments)")
        }
    }
}
