import DiskImage
import Foundation
import Testing

/// Random writes, zeroing, discards and compressed writes against a byte model, then judged by
/// qemu-img: the image must read as the model and check clean.
@Suite struct RandomOperationTests {
    struct Configuration: CustomTestStringConvertible, Sendable {
        let name: String
        let options: Qcow2CreateOptions
        var withBacking = false
        var testDescription: String { name }
    }

    static let configurations: [Configuration] = [
        Configuration(name: "64K v3", options: Qcow2CreateOptions(size: 6 << 20)),
        Configuration(name: "512 v2", options: Qcow2CreateOptions(size: 3 << 20, clusterSize: 512, compatibility: .v2)),
        Configuration(
            name: "extended 32K", options: Qcow2CreateOptions(size: 6 << 20, clusterSize: 32768, extendedL2: true)),
        Configuration(
            name: "4K refcount_bits=1 over a raw backing file",
            options: Qcow2CreateOptions(size: 5 << 20, clusterSize: 4096, backingFile: "base.raw", refcountBits: 1),
            withBacking: true),
        Configuration(
            name: "v2 over a raw backing file",
            options: Qcow2CreateOptions(size: 5 << 20, compatibility: .v2, backingFile: "base.raw"), withBacking: true),
        Configuration(
            name: "extended 16K zstd over a raw backing file",
            options: Qcow2CreateOptions(
                size: 5 << 20, clusterSize: 16384, backingFile: "base.raw", compressionType: .zstd, extendedL2: true),
            withBacking: true),
    ]

    @Test(arguments: configurations) func matchesAModel(_ configuration: Configuration) throws {
        let directory = try ScratchDirectory()
        let size = Int(configuration.options.size ?? 0)
        var backing = [UInt8](repeating: 0, count: size)
        if configuration.withBacking {
            let base = ImageBytes.noise(seed: 77, count: 4 << 20, compressible: true)
            try ImageBytes.writeFile(directory.file("base.raw"), base)
            backing.replaceSubrange(0..<base.count, with: base)
        }
        let path = directory.file("random.qcow2")
        try Qcow2Image.create(path: path, options: configuration.options)
        let image = try Qcow2Image(path: path)
        let cluster = image.headerInfo.clusterSize
        let v3 = image.headerInfo.version == 3
        var model = backing
        // RANDOM_OPS_SEED and RANDOM_OPS_STEPS vary the run locally.
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["RANDOM_OPS_SEED"].flatMap { UInt64($0) } ?? 0xC0FFEE
        let steps = environment["RANDOM_OPS_STEPS"].flatMap { Int($0) } ?? 150
        var random = MutationFuzzTests.Generator(state: UInt64(size) ^ seed)
        var snapshots: [String: [UInt8]] = [:]
        let snapshotsAllowed = configuration.options.refcountBits >= 4
        for step in 0..<steps {
            let offset = random.below(size)
            let count = min(size - offset, 1 + random.below(random.below(4) == 0 ? 300_000 : 9000))
            if snapshotsAllowed && random.below(20) == 0 {
                // Take, apply or delete an internal snapshot.
                let names = snapshots.keys.sorted()
                switch random.below(3) {
                case 0 where snapshots.count < 3:
                    try image.createSnapshot(name: "s\(step)")
                    snapshots["s\(step)"] = model
                case 1 where !names.isEmpty:
                    let name = names[random.below(names.count)]
                    try image.applySnapshot(name)
                    model = snapshots[name] ?? model
                case 2 where !names.isEmpty:
                    let name = names[random.below(names.count)]
                    try image.deleteSnapshot(name)
                    snapshots[name] = nil
                default:
                    break
                }
                continue
            }
            switch random.below(10) {
            case 0...4:
                let bytes = ImageBytes.noise(seed: UInt64(step), count: count, compressible: random.below(2) == 0)
                try ImageBytes.write(image, at: UInt64(offset), bytes)
                model.replaceSubrange(offset..<offset + count, with: bytes)
            case 5, 6:
                try image.writeZeroes(at: UInt64(offset), length: UInt64(count))
                model.replaceSubrange(offset..<offset + count, with: [UInt8](repeating: 0, count: count))
            case 7, 8:
                try image.discard(at: UInt64(offset), length: UInt64(count))
                var start = (offset + cluster - 1) / cluster * cluster
                while start < offset + count {
                    let end = min(start + cluster, size)
                    guard end <= offset + count else { break }
                    let reveal = configuration.withBacking && !v3
                    model.replaceSubrange(
                        start..<end,
                        with: reveal ? Array(backing[start..<end]) : [UInt8](repeating: 0, count: end - start))
                    start += cluster
                }
            default:
                let start = offset / cluster * cluster
                let length = min(cluster, size - start)
                let bytes = ImageBytes.noise(seed: UInt64(step), count: length, compressible: true)
                try bytes.withUnsafeBytes { try image.writeCompressed(at: UInt64(start), from: $0) }
                model.replaceSubrange(start..<start + length, with: bytes)
            }
            if step % 50 == 49 {
                try image.flush()
                #expect(try ImageBytes.read(image) == model, "step \(step)")
            }
        }
        let report = try image.check()
        #expect(report.isClean, "\(report.messages.prefix(5))")
        try image.close()
        let check = try QemuTool.imageStatus("check", path)
        #expect(check.status == 0, "\(check.output)")
        let expected = directory.file("expected.raw")
        try ImageBytes.writeFile(expected, model)
        let compare = try QemuTool.imageStatus("compare", "-f", "qcow2", "-F", "raw", path, expected)
        #expect(compare.status == 0, "\(compare.output)")
    }
}
