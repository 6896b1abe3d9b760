import DiskImage
import Foundation
import Testing

/// Images made by `Qcow2Image.create` against the same ones made by `qemu-img create`.
@Suite struct CreateLayoutTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let qemuOptions: String
        let size: UInt64
        let options: Qcow2CreateOptions
        var testDescription: String { qemuOptions.isEmpty ? "defaults" : qemuOptions }
    }

    static let cases: [Case] = [
        Case(qemuOptions: "", size: 1 << 30, options: Qcow2CreateOptions(size: 1 << 30)),
        Case(
            qemuOptions: "compat=0.10", size: 64 << 20, options: Qcow2CreateOptions(size: 64 << 20, compatibility: .v2)),
        Case(
            qemuOptions: "cluster_size=512", size: 64 << 20,
            options: Qcow2CreateOptions(size: 64 << 20, clusterSize: 512)),
        Case(
            qemuOptions: "cluster_size=4096", size: 100 << 20,
            options: Qcow2CreateOptions(size: 100 << 20, clusterSize: 4096)),
        Case(
            qemuOptions: "cluster_size=2M", size: 1 << 30,
            options: Qcow2CreateOptions(size: 1 << 30, clusterSize: 2 << 20)),
        Case(
            qemuOptions: "refcount_bits=1", size: 8 << 20, options: Qcow2CreateOptions(size: 8 << 20, refcountBits: 1)),
        Case(
            qemuOptions: "refcount_bits=64", size: 8 << 20, options: Qcow2CreateOptions(size: 8 << 20, refcountBits: 64)
        ),
        Case(
            qemuOptions: "lazy_refcounts=on", size: 8 << 20,
            options: Qcow2CreateOptions(size: 8 << 20, lazyRefcounts: true)),
        Case(
            qemuOptions: "compression_type=zstd", size: 8 << 20,
            options: Qcow2CreateOptions(size: 8 << 20, compressionType: .zstd)),
        Case(
            qemuOptions: "extended_l2=on", size: 8 << 20, options: Qcow2CreateOptions(size: 8 << 20, extendedL2: true)),
        Case(
            qemuOptions: "preallocation=metadata", size: 3 << 20,
            options: Qcow2CreateOptions(size: 3 << 20, preallocation: .metadata)),
        Case(
            qemuOptions: "preallocation=metadata,cluster_size=4096", size: 5 << 20,
            options: Qcow2CreateOptions(size: 5 << 20, clusterSize: 4096, preallocation: .metadata)),
        Case(qemuOptions: "size-zero", size: 0, options: Qcow2CreateOptions(size: 0)),
    ]

    @Test(arguments: cases) func matchesQemuImgByteForByte(_ testCase: Case) throws {
        let directory = try ScratchDirectory()
        let ours = directory.file("ours.qcow2")
        let theirs = directory.file("theirs.qcow2")
        try Qcow2Image.create(path: ours, options: testCase.options)
        var arguments = ["create", "-f", "qcow2"]
        let qemuOptions = testCase.qemuOptions == "size-zero" ? "" : testCase.qemuOptions
        if !qemuOptions.isEmpty { arguments += ["-o", qemuOptions] }
        arguments += [theirs, String(testCase.size)]
        try QemuTool.run(QemuTool.imagePath, arguments)
        let ourBytes = try Data(contentsOf: URL(fileURLWithPath: ours))
        let theirBytes = try Data(contentsOf: URL(fileURLWithPath: theirs))
        #expect(ourBytes.count == theirBytes.count)
        if ourBytes != theirBytes {
            let firstDifference = zip(ourBytes, theirBytes).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            Issue.record("first difference at \(firstDifference ?? -1)")
        }
        let check = try QemuTool.imageStatus("check", ours)
        #expect(check.status == 0, "\(check.output)")
    }

    @Test(arguments: [Qcow2CreateOptions.Compatibility.v2, .v3])
    func matchesQemuImgWithABackingFile(_ compatibility: Qcow2CreateOptions.Compatibility) throws {
        let directory = try ScratchDirectory()
        try ImageBytes.writeFile(directory.file("base.raw"), [UInt8](repeating: 1, count: 3 << 20))
        let ours = directory.file("ours.qcow2")
        let theirs = directory.file("theirs.qcow2")
        try Qcow2Image.create(
            path: ours,
            options: Qcow2CreateOptions(
                size: nil, compatibility: compatibility, backingFile: "base.raw", backingFormat: .raw))
        try QemuTool.image(
            "create", "-f", "qcow2", "-o", "compat=\(compatibility.rawValue)", "-b", "base.raw", "-F", "raw", theirs)
        #expect(try ImagePatcher.bytes(ours) == ImagePatcher.bytes(theirs))
    }
}
