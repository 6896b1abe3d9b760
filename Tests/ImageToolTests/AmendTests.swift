import Foundation
import Testing

/// `amend`: compat up and down, lazy refcounts, refcount width and size change as qemu-img changes
/// them; contents stay, images stay clean, and `info` agrees with qemu-img's result.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct AmendTests {
    static let cases: [[String]] = [
        ["-o", "compat=0.10", "data.qcow2"], ["-o", "compat=1.1,lazy_refcounts=on", "v2.qcow2"],
        ["-o", "refcount_bits=8", "data.qcow2"], ["-o", "refcount_bits=64", "snapshots.qcow2"],
        ["-o", "refcount_bits=1", "snapshots.qcow2"], ["-o", "size=32M", "data.qcow2"],
        ["-o", "size=1M", "data.qcow2"],
        ["-o", "compat=0.10", "snapshots.qcow2"], ["-o", "compat=0.10", "top.qcow2"],
        ["-o", "lazy_refcounts=off", "features.qcow2"],
        ["-o", "compat=0.10", "features.qcow2"], ["-o", "cluster_size=4k", "data.qcow2"], ["data.qcow2"],
        ["-o", "compression_type=zstd", "data.qcow2"],
        ["-o", "backing_file=base.qcow2,backing_fmt=qcow2", "data.qcow2"],
        ["-o", "backing_file=data.qcow2,backing_fmt=qcow2", "top.qcow2"], ["-f", "raw", "-o", "size=1M", "disk.raw"],
        ["-o", "compat=2", "data.qcow2"], ["-o", "compat=0.10,lazy_refcounts=on", "data.qcow2"],
        ["-o", "compat=0.10,refcount_bits=8", "data.qcow2"], ["-o", "foo=1", "data.qcow2"],
        ["-o", "refcount_bits=3", "data.qcow2"],
        ["-o", "compat=0.10", "-p", "data.qcow2"],
    ]

    @Test func amendsLikeQemuImg() throws {
        let scratch = try Scratch()
        let fixtures = try scratch.directory("fixtures")
        try Fixtures.overlay(in: fixtures)
        try Fixtures.raw(in: fixtures)
        try Fixtures.version2(in: fixtures)
        try Fixtures.features(in: fixtures)
        try Fixtures.snapshots(in: fixtures)
        let files = ["data.qcow2", "top.qcow2", "disk.raw", "v2.qcow2", "features.qcow2", "snapshots.qcow2"]
        for arguments in Self.cases {
            let run = try SideBySide.run(["amend"] + arguments, files: files, from: fixtures, in: scratch)
            #expect(run.ours.status == run.qemu.status, "\(arguments): \(run.ours)")
            #expect(run.ours.stderr == run.qemu.stderr, "\(arguments)")
            if !arguments.contains("-p") { #expect(run.ours.stdout == run.qemu.stdout, "\(arguments)") }
            let name = arguments[arguments.count - 1]
            guard name.hasSuffix(".qcow2") else { continue }
            #expect(try run.contentsMatch(name), "\(arguments)")
            #expect(try ToolProcess.run(ToolProcess.qemuImg, ["check", name], in: run.oursDirectory).status == 0)
            let info = { (directory: String) throws -> Any in
                try JSONComparison.parse(
                    try ToolProcess.run(ToolProcess.qemuImg, ["info", "--output=json", name], in: directory).stdout)
            }
            // actual-size: QEMU rebuilds refcounts and expands zero clusters in other places of the file.
            let differences = JSONComparison.differences(
                try info(run.oursDirectory), try info(run.qemuDirectory), ignoring: ["actual-size"])
            #expect(differences.isEmpty, "\(arguments): \(differences)")
        }
    }
}
