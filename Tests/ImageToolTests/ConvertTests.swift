import Foundation
import Testing

/// `convert`: round trips qcow2↔raw with and without -c checked by `qemu-img compare`, targets that
/// `qemu-img check` calls clean and map like qemu-img's, -B, -n, -S, -p, and qemu-img's errors.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct ConvertTests {
    static func fixtures(_ scratch: Scratch) throws -> (String, [String]) {
        let directory = try scratch.directory("fixtures")
        try Fixtures.overlay(in: directory)
        try Fixtures.raw(in: directory)
        try Fixtures.features(in: directory)
        try Fixtures.snapshots(in: directory)
        try Fixtures.version2(in: directory)
        return (directory, ["data.qcow2", "top.qcow2", "disk.raw", "features.qcow2", "snapshots.qcow2", "v2.qcow2"])
    }

    static let conversions: [[String]] = [
        ["-O", "raw", "data.qcow2", "out.raw"],
        ["-O", "qcow2", "disk.raw", "out.qcow2"],
        ["-O", "qcow2", "data.qcow2", "out.qcow2"],
        ["-c", "-O", "qcow2", "disk.raw", "out.qcow2"],
        ["-c", "-O", "qcow2", "data.qcow2", "out.qcow2"],
        ["-c", "-O", "qcow2", "-o", "compression_type=zstd", "top.qcow2", "out.qcow2"],
        ["-O", "raw", "top.qcow2", "out.raw"],
        ["-O", "qcow2", "-o", "cluster_size=4k,compat=0.10", "top.qcow2", "out.qcow2"],
        ["-O", "qcow2", "-o", "cluster_size=32k,extended_l2=on,refcount_bits=1", "features.qcow2", "out.qcow2"],
        ["-O", "raw", "features.qcow2", "out.raw"],
        ["-O", "qcow2", "snapshots.qcow2", "out.qcow2"],
        ["-O", "qcow2", "-B", "data.qcow2", "-F", "qcow2", "top.qcow2", "out.qcow2"],
        ["-c", "-O", "qcow2", "-B", "data.qcow2", "-F", "qcow2", "top.qcow2", "out.qcow2"],
        ["-S", "0", "-O", "qcow2", "disk.raw", "out.qcow2"],
        ["-S", "64k", "-O", "qcow2", "disk.raw", "out.qcow2"],
        ["-O", "raw", "data.qcow2", "disk.raw", "out.raw"],
        ["-O", "qcow2", "v2.qcow2", "out.qcow2"],
        ["-f", "qcow2", "-O", "qcow2", "-t", "writeback", "data.qcow2", "out.qcow2"],
    ]

    @Test(arguments: conversions)
    func convertsLikeQemuImg(_ arguments: [String]) throws {
        let scratch = try Scratch()
        let (fixtures, files) = try Self.fixtures(scratch)
        let run = try SideBySide.run(["convert"] + arguments, files: files, from: fixtures, in: scratch)
        run.expectIdenticalOutput()
        let output = arguments[arguments.count - 1]
        let sources = Array(
            arguments.dropLast().filter { files.contains($0) }.suffix(
                arguments.contains("disk.raw") && arguments.contains("data.qcow2") ? 2 : 1))
        if sources.count == 1 {
            // The result reads like the source, as checked by qemu-img.
            let compare = try ToolProcess.run(
                ToolProcess.qemuImg, ["compare", sources[0], output], in: run.oursDirectory)
            #expect(compare.status == 0, "\(compare)")
        }
        #expect(try run.contentsMatch(output))
        if output.hasSuffix(".qcow2") {
            let check = try ToolProcess.run(ToolProcess.qemuImg, ["check", output], in: run.oursDirectory)
            #expect(check.status == 0, "\(check)")
        }
        // Without compression the same clusters are allocated: the maps agree (offsets included for raw
        // targets; compressed data is packed in a different order, so -c compares content only).
        if !arguments.contains("-c") {
            let ours = try ToolProcess.run(
                ToolProcess.qemuImg, ["map", "--output=json", output], in: run.oursDirectory)
            let qemu = try ToolProcess.run(
                ToolProcess.qemuImg, ["map", "--output=json", output], in: run.qemuDirectory)
            #expect(ours.stdout == qemu.stdout)
        }
    }

    @Test func roundTripsThroughRawAndCompressedQcow2() throws {
        let scratch = try Scratch()
        let (fixtures, _) = try Self.fixtures(scratch)
        let steps: [[String]] = [
            ["convert", "-O", "raw", "data.qcow2", scratch.file("1.raw")],
            ["convert", "-c", "-O", "qcow2", scratch.file("1.raw"), scratch.file("2.qcow2")],
            ["convert", "-O", "raw", scratch.file("2.qcow2"), scratch.file("3.raw")],
            ["convert", "-O", "qcow2", scratch.file("3.raw"), scratch.file("4.qcow2")],
            [
                "convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd,cluster_size=16k", scratch.file("4.qcow2"),
                scratch.file("5.qcow2"),
            ],
            ["convert", "-O", "raw", scratch.file("5.qcow2"), scratch.file("6.raw")],
        ]
        for step in steps {
            let outcome = try ToolProcess.ours(step, in: fixtures)
            #expect(outcome.status == 0, "\(step): \(outcome)")
        }
        for name in ["1.raw", "2.qcow2", "3.raw", "4.qcow2", "5.qcow2", "6.raw"] {
            let compare = try ToolProcess.run(
                ToolProcess.qemuImg, ["compare", fixtures + "/data.qcow2", scratch.file(name)])
            #expect(compare.status == 0, "\(name): \(compare)")
        }
        #expect(try scratch.bytes("1.raw") == scratch.bytes("6.raw"))
        for name in ["2.qcow2", "5.qcow2"] {
            let check = try ToolProcess.run(ToolProcess.qemuImg, ["check", "--output=json", scratch.file(name)])
            #expect(check.status == 0)
            let json = try #require(try JSONComparison.parse(check.stdout) as? [String: Any])
            #expect((json["compressed-clusters"] as? Int ?? 0) > 0, "\(name) holds compressed clusters")
        }
    }

    @Test func writesIntoAnExistingTargetWithDashN() throws {
        let scratch = try Scratch()
        let (fixtures, files) = try Self.fixtures(scratch)
        try ToolProcess.qemuSucceeds("create", "-q", "-f", "qcow2", fixtures + "/target.qcow2", "16M")
        try ToolProcess.qemuIo(fixtures + "/target.qcow2", "write -P 0x77 0 16M")
        let run = try SideBySide.run(
            ["convert", "-n", "-O", "qcow2", "data.qcow2", "target.qcow2"], files: files + ["target.qcow2"],
            from: fixtures, in: scratch)
        run.expectIdenticalOutput()
        // Zero ranges were written as zeroes, since an existing target is not assumed to be empty.
        let compare = try ToolProcess.run(
            ToolProcess.qemuImg, ["compare", "data.qcow2", "target.qcow2"], in: run.oursDirectory)
        #expect(compare.status == 0, "\(compare)")
    }

    @Test func printsQemuImgsProgressLine() throws {
        let scratch = try Scratch()
        let (fixtures, _) = try Self.fixtures(scratch)
        let outcome = try ToolProcess.ours(
            ["convert", "-p", "-O", "qcow2", "data.qcow2", scratch.file("p.qcow2")], in: fixtures)
        #expect(outcome.status == 0)
        // "    (0.00/100%)\r" first, "    (100.00/100%)\r\n" last, on stdout as qemu-img prints it.
        #expect(outcome.stdout.hasPrefix("    (0.00/100%)\r"))
        #expect(outcome.stdout.hasSuffix("    (100.00/100%)\r\n"))
        let quiet = try ToolProcess.ours(
            ["convert", "-q", "-p", "-O", "raw", "data.qcow2", scratch.file("q.raw")], in: fixtures)
        #expect(quiet.stdout.isEmpty)
    }

    @Test func failsLikeQemuImg() throws {
        let scratch = try Scratch()
        let (fixtures, files) = try Self.fixtures(scratch)
        try ToolProcess.qemuSucceeds("create", "-q", "-f", "raw", fixtures + "/small.raw", "1M")
        for arguments in [
            ["-c", "-O", "raw", "data.qcow2", "x.raw"], ["-O", "qcow2", "-B", "data.qcow2", "top.qcow2", "x.qcow2"],
            ["-O", "raw", "-B", "data.qcow2", "-F", "qcow2", "top.qcow2", "x.raw"], ["data.qcow2"],
            ["-n", "data.qcow2", "nonexistent.raw"], ["-n", "-o", "cluster_size=4k", "data.qcow2", "x.qcow2"],
            ["-O", "qcow2", "-o", "cluster_size=4k,extended_l2=on", "data.qcow2", "x.qcow2"],
            ["-O", "qcow2", "nothere", "x.qcow2"], ["-O", "vmdkz", "data.qcow2", "x.qcow2"],
            ["-n", "data.qcow2", "small.raw"], ["-S", "100", "data.qcow2", "x.raw"],
        ] {
            let run = try SideBySide.run(
                ["convert"] + arguments, files: files + ["small.raw"], from: fixtures, in: scratch)
            run.expectIdenticalOutput("\(arguments)")
        }
    }
}
