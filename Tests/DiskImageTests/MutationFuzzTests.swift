import DiskImage
import Foundation
import Testing

/// A seeded mutator over the headers and tables of real images, for a bounded time: every outcome must
/// be a result or a DiskImageError, never a crash or a hang.
@Suite struct MutationFuzzTests {
    /// xorshift64*: deterministic per seed.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return state &* 2_685_821_657_736_338_717
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
    }

    static func baseImages(_ directory: ScratchDirectory) throws -> [[UInt8]] {
        var images: [[UInt8]] = []
        let plans: [(String, [String], Bool)] = [
            ("compat=1.1", ["write -P 1 0 70k", "write -z 1M 64k", "write -P 2 3M 4k"], true),
            ("compat=0.10,cluster_size=512", ["write -P 3 0 5k", "write -P 4 100k 1k"], false),
            ("extended_l2=on,cluster_size=16k", ["write -P 5 1k 3k", "write -z 64k 32k"], false),
            ("lazy_refcounts=on,refcount_bits=4,cluster_size=4k", ["write -P 6 0 20k"], false),
        ]
        for (index, plan) in plans.enumerated() {
            let path = directory.file("base\(index).qcow2")
            try QemuTool.image("create", "-f", "qcow2", "-o", plan.0, path, "4M")
            try QemuTool.io(path, plan.1)
            if plan.2 { try QemuTool.image("snapshot", "-c", "s1", path) }
            images.append(try ImagePatcher.bytes(path))
        }
        let source = directory.file("source.raw")
        try ImageBytes.writeFile(source, ImageBytes.noise(seed: 1, count: 300_000, compressible: true))
        let compressed = directory.file("compressed.qcow2")
        try QemuTool.image(
            "convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd,cluster_size=4096", source, compressed)
        images.append(try ImagePatcher.bytes(compressed))
        return images
    }

    static func mutate(_ bytes: inout [UInt8], _ random: inout Generator) {
        let interesting: [UInt64] = [0, 1, 0x1FF, 0x200, 0x10000, 0x30000, 1 << 63, 1 << 62, UInt64.max, 0x7FFF_FFFF]
        for _ in 0..<(1 + random.below(6)) {
            switch random.below(4) {
            case 0:  // a header byte
                bytes[random.below(min(bytes.count, 256))] = UInt8(truncatingIfNeeded: random.next())
            case 1:  // a random byte anywhere in the metadata area
                bytes[random.below(min(bytes.count, 0x60000))] ^= UInt8(truncatingIfNeeded: 1 << random.below(8))
            default:  // an aligned 64-bit table slot set to an interesting or random value
                let slot = random.below(min(bytes.count, 0x60000) / 8) * 8
                var value = random.below(2) == 0 ? interesting[random.below(interesting.count)] : random.next()
                if random.below(2) == 0 {
                    value = (value & 0x00FF_FFFF_FFFF_FE00) | (random.below(2) == 0 ? 1 << 63 : 0)
                }
                for index in 0..<8 {
                    bytes[slot + index] = UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64(index)))
                }
            }
        }
    }

    /// Everything a client might do, with errors swallowed: only crashes and hangs fail the test.
    static func exercise(_ path: String, _ random: inout Generator) {
        if let image = try? DiskImages.open(path: path, format: .qcow2, readOnly: true) {
            let size = image.virtualSize
            for _ in 0..<3 {
                let offset = size == 0 ? 0 : random.next() % size
                let count = Int(min(65536, size - offset))
                var buffer = [UInt8](repeating: 0, count: count)
                try? buffer.withUnsafeMutableBytes { try image.read(at: offset, into: $0) }
                if count > 0 { _ = try? image.blockStatus(at: offset, length: UInt64(count)) }
            }
            _ = try? (image as? Qcow2Image)?.check()
        }
        guard let image = try? Qcow2Image(path: path) else { return }
        let size = image.virtualSize
        if size > 0 {
            let data = ImageBytes.pattern(0x77, 5000)
            for _ in 0..<2 {
                let offset = random.next() % size
                let count = Int(min(UInt64(data.count), size - offset))
                try? data.withUnsafeBytes {
                    try image.write(at: offset, from: UnsafeRawBufferPointer(rebasing: $0[0..<count]))
                }
            }
            let offset = random.next() % size
            try? image.writeZeroes(at: offset, length: min(200_000, size - offset))
            try? image.discard(at: 0, length: min(1 << 20, size))
        }
        _ = try? image.check(repair: .all)
        try? image.close()
    }

    @Test func survivesRandomMutations() throws {
        let directory = try ScratchDirectory()
        let bases = try Self.baseImages(directory)
        // FUZZ_SEED and FUZZ_SECONDS override the defaults for longer local runs.
        let environment = ProcessInfo.processInfo.environment
        let seed = environment["FUZZ_SEED"].flatMap { UInt64($0) } ?? 0x5EED_1234_ABCD_0001
        let seconds = environment["FUZZ_SECONDS"].flatMap { Double($0) } ?? 4
        var random = Generator(state: seed)
        let path = directory.file("mutant.qcow2")
        let deadline = Date().addingTimeInterval(seconds)
        var iterations = 0
        while Date() < deadline {
            var bytes = bases[random.below(bases.count)]
            Self.mutate(&bytes, &random)
            try ImageBytes.writeFile(path, bytes)
            Self.exercise(path, &random)
            iterations += 1
        }
        #expect(iterations > 20)
        print("mutation fuzz: \(iterations) images in \(seconds) s, seed \(seed)")
    }
}
