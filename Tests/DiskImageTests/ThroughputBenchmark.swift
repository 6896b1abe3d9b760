import DiskImage
import Foundation
import Testing

/// Throughput of qcow2 writes and reads through the page cache. Off by default; run with
/// `DISKIMAGE_BENCHMARK=1 swift test -c release --filter ThroughputBenchmark`.
@Suite struct ThroughputBenchmark {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["DISKIMAGE_BENCHMARK"] != nil))
    func sequentialAndRandomWrites() throws {
        let directory = try ScratchDirectory()
        for cluster in [65536, 4096, 512] {
            let path = directory.file("perf\(cluster).qcow2")
            try Qcow2Image.create(path: path, options: Qcow2CreateOptions(size: 256 << 20, clusterSize: cluster))
            let image = try Qcow2Image(path: path)
            let chunk = ImageBytes.noise(seed: 1, count: 1 << 20)
            var start = Date()
            for index in 0..<128 { try ImageBytes.write(image, at: UInt64(index) << 20, chunk) }
            try image.flush()
            let sequential = Date().timeIntervalSince(start)
            start = Date()
            var random = MutationFuzzTests.Generator(state: 99)
            let small = ImageBytes.pattern(3, 4096)
            for _ in 0..<5000 { try ImageBytes.write(image, at: (random.next() % (256 << 8)) << 12, small) }
            try image.flush()
            let randomWrites = Date().timeIntervalSince(start)
            start = Date()
            var buffer = [UInt8](repeating: 0, count: 1 << 20)
            for index in 0..<256 {
                try buffer.withUnsafeMutableBytes { try image.read(at: UInt64(index) << 20, into: $0) }
            }
            let reads = Date().timeIntervalSince(start)
            try image.close()
            print(
                "cluster \(cluster): seq write 128 MiB \(sequential)s, 5000 random 4K writes \(randomWrites)s, read 256 MiB \(reads)s"
            )
        }
    }
}
