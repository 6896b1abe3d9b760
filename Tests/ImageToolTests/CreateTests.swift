import Foundation
import Testing

/// `create`: the "Formatting ..." line, errors and exit statuses match qemu-img's, and the images ours
/// makes are clean, report the same `info`, and lay out their metadata as qemu-img's do.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct CreateTests {
    static let optionSets: [[String]] = [
        ["-f", "qcow2", "new.qcow2", "1G"],
        ["-f", "qcow2", "-o", "compat=0.10", "new.qcow2", "1.5G"],
        [
            "-f", "qcow2", "-o", "cluster_size=4k,lazy_refcounts=on,refcount_bits=8,compression_type=zstd", "new.qcow2",
            "100M",
        ],
        ["-f", "qcow2", "-o", "cluster_size=16k,extended_l2=on", "new.qcow2", "64M"],
        ["-f", "qcow2", "-o", "cluster_size=512,refcount_bits=1", "new.qcow2", "100M"],
        ["-f", "qcow2", "-o", "cluster_size=2M,refcount_bits=64", "new.qcow2", "10G"],
        ["-f", "qcow2", "-o", "preallocation=metadata", "new.qcow2", "10M"],
        ["-f", "qcow2", "-b", "data.qcow2", "-F", "qcow2", "new.qcow2"],
        ["-f", "qcow2", "-o", "backing_file=data.qcow2,backing_fmt=qcow2,cluster_size=64k", "new.qcow2", "32M"],
        ["-f", "qcow2", "-o", "extended_l2=on,preallocation=metadata", "-b", "data.qcow2", "-F", "qcow2", "new.qcow2"],
        ["-f", "qcow2", "-u", "-b", "missing.qcow2", "-F", "qcow2", "new.qcow2", "1M"],
        ["-f", "qcow2", "new.qcow2", "1000"],
        ["-f", "raw", "new.raw", "10M"],
        ["new.img", "1k"],
        ["-f", "raw", "-o", "preallocation=full", "new.raw", "1M"],
        ["-q", "-f", "qcow2", "new.qcow2", "1M"],
    ]

    static let failures: [[String]] = [
        ["-f", "qcow2", "-o", "cluster_size=4k,extended_l2=on", "bad.qcow2", "100M"],
        ["-f", "qcow2", "-b", "data.qcow2", "bad.qcow2"],
        ["-f", "qcow2", "bad.qcow2"],
        ["-f", "qcow2", "bad.qcow2", "1Q"],
        ["-f", "qcow2", "bad.qcow2", "9E"],
        ["-f", "qcow2", "bad.qcow2", "1E"],
        ["-f", "vmdkx", "bad.vmdk", "1M"],
        ["-f", "qcow2", "-o", "cluster_size=3000", "bad.qcow2", "1M"],
        ["-f", "qcow2", "-o", "foo=bar", "bad.qcow2", "1M"],
        ["-f", "qcow2", "-o", "compat=0.10,lazy_refcounts=on", "bad.qcow2", "1M"],
        ["-f", "qcow2", "-o", "compat=0.10,refcount_bits=8", "bad.qcow2", "1M"],
        ["-f", "qcow2", "-o", "compat=0.10,compression_type=zstd", "bad.qcow2", "1M"],
        ["-f", "qcow2", "-o", "compat=2", "bad.qcow2", "1M"],
        ["-f", "qcow2", "-o", "refcount_bits=3", "bad.qcow2", "1M"],
        ["-f", "qcow2", "-o", "lazy_refcounts=maybe", "bad.qcow2", "1M"],
        ["-f", "qcow2", "-o", "preallocation=bogus", "bad.qcow2", "1M"],
        ["-f", "qcow2", "-o", "compression_type=lz4", "bad.qcow2", "1M"],
        ["-f", "qcow2", "-o", "cluster_size=abc", "bad.qcow2", "1M"],
        ["-f", "qcow2", "-o", "size=1M", "bad.qcow2", "2M"],
        ["-f", "qcow2", "-o", "preallocation=full", "-b", "data.qcow2", "-F", "qcow2", "bad.qcow2"],
        ["-f", "qcow2", "-b", "nothere.qcow2", "-F", "qcow2", "bad.qcow2"],
        ["-f", "qcow2", "-b", "bad.qcow2", "-F", "qcow2", "bad.qcow2"],
        ["-f", "qcow2", "-F", "qcow2", "bad.qcow2", "1M"],
        ["-f", "raw", "-o", "preallocation=metadata", "bad.raw", "1M"],
        ["-f", "raw", "-o", "cluster_size=4k", "bad.raw", "1M"],
        ["-f", "qcow2", "bad.qcow2", "1M", "extra"],
        ["-f", "qcow2", "-o", "cluster_size=4k,", "bad.qcow2", "1M"],
        [],
    ]

    @Test(arguments: optionSets)
    func createsWhatQemuImgCreates(_ arguments: [String]) throws {
        let scratch = try Scratch()
        let fixtures = try scratch.directory("fixtures")
        try Fixtures.data(in: fixtures)
        let run = try SideBySide.run(["create"] + arguments, files: ["data.qcow2"], from: fixtures, in: scratch)
        run.expectIdenticalOutput()
        let name = arguments.first { $0.hasPrefix("new.") } ?? ""
        let qemuInfo = try ToolProcess.run(ToolProcess.qemuImg, ["info", "--output=json", name], in: run.qemuDirectory)
        let ourInfo = try ToolProcess.run(ToolProcess.qemuImg, ["info", "--output=json", name], in: run.oursDirectory)
        // actual-size: the same layout can occupy different host blocks (QEMU allocates some with
        // fallocate, the library writes them).
        let differences = JSONComparison.differences(
            try JSONComparison.parse(ourInfo.stdout), try JSONComparison.parse(qemuInfo.stdout),
            ignoring: ["actual-size"])
        #expect(differences.isEmpty, "\(differences)")
        // With -u the backing file does not exist: nothing can read the image.
        guard !arguments.contains("missing.qcow2") else { return }
        if name.hasSuffix(".qcow2") {
            let check = try ToolProcess.run(ToolProcess.qemuImg, ["check", name], in: run.oursDirectory)
            #expect(check.status == 0, "\(check)")
            // Without preallocation the files match byte for byte.
            if !arguments.contains(where: { $0.contains("preallocation") }) {
                let ours = try Data(contentsOf: URL(fileURLWithPath: run.oursDirectory + "/" + name))
                let qemu = try Data(contentsOf: URL(fileURLWithPath: run.qemuDirectory + "/" + name))
                #expect(ours == qemu)
            }
        }
        #expect(try run.contentsMatch(name))
    }

    @Test(arguments: failures)
    func failsLikeQemuImg(_ arguments: [String]) throws {
        let scratch = try Scratch()
        let fixtures = try scratch.directory("fixtures")
        try Fixtures.data(in: fixtures)
        let run = try SideBySide.run(["create"] + arguments, files: ["data.qcow2"], from: fixtures, in: scratch)
        #expect(run.ours.status == run.qemu.status, "\(run.ours)")
        #expect(run.ours.stdout == run.qemu.stdout)
        // QEMU prints error hints without a final newline.
        #expect(run.ours.stderr.trimmingCharacters(in: .newlines) == run.qemu.stderr.trimmingCharacters(in: .newlines))
    }

    @Test func listsOptionsForHelp() throws {
        let ours = try ToolProcess.ours(["create", "-f", "qcow2", "-o", "help"])
        #expect(ours.status == 0)
        for option in ["cluster_size", "compat", "lazy_refcounts", "refcount_bits", "extended_l2", "compression_type"] {
            #expect(ours.stdout.contains("  \(option)="))
        }
    }
}
