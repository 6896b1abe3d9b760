import Foundation
import Testing

/// `dd`: bs, count and skip as qemu-img interprets them; the output files are byte-identical.
@Suite(.enabled(if: ToolProcess.qemuAvailable)) struct DDTests {
    static let cases: [[String]] = [
        ["if=data.qcow2", "of=out.raw", "bs=64k", "count=20", "skip=1"],
        ["-O", "qcow2", "if=data.qcow2", "of=out.qcow2", "bs=1M"],
        ["if=data.qcow2", "of=out.raw"], ["if=data.qcow2", "of=out.raw", "skip=1000"],
        ["if=data.qcow2", "of=out.raw", "bs=3000", "count=2"], ["if=data.qcow2", "of=out.raw", "count=1k", "bs=1"],
        ["if=data.qcow2", "of=out.raw", "bs=1M", "count=0"], ["if=data.qcow2", "of=out.raw", "skip=100000"],
        ["if=top.qcow2", "of=out.qcow2", "-O", "qcow2", "bs=3000", "skip=7"],
        ["-f", "raw", "if=disk.raw", "of=out.raw"],
        ["if=data.qcow2"], ["if=data.qcow2", "of=out.raw", "bs=0"], ["if=data.qcow2", "of=out.raw", "foo=1"],
        ["if=nothere", "of=out.raw"], ["if=data.qcow2", "of=out.raw", "bs=abc"],
        ["if=data.qcow2", "of=out.raw", "bogus"],
        ["-O", "vmdkz", "if=data.qcow2", "of=out.raw"],
    ]

    @Test func copiesLikeQemuImg() throws {
        let scratch = try Scratch()
        let (fixtures, files) = try Fixtures.overlayAndRaw(in: scratch)
        for arguments in Self.cases {
            let run = try SideBySide.run(["dd"] + arguments, files: files, from: fixtures, in: scratch)
            run.expectIdenticalOutput("\(arguments)")
            for name in ["out.raw", "out.qcow2"] {
                let ours = FileManager.default.contents(atPath: run.oursDirectory + "/" + name)
                let qemu = FileManager.default.contents(atPath: run.qemuDirectory + "/" + name)
                #expect(ours == qemu, "\(arguments) \(name)")
            }
        }
    }
}
