@_spi(Testing) import DiskImage
import Foundation
import Testing

/// Replays the writes of real operations cut off at every barrier, with random subsets of the writes
/// after it (which the disk may persist in any order): no such "crashed" image may contain a
/// corruption. Leaked clusters are allowed.
@Suite struct CrashConsistencyTests {
    final class Journal: @unchecked Sendable {
        var events: [Qcow2WriteEvent] = []
    }

    static func replay(_ base: [UInt8], _ events: ArraySlice<Qcow2WriteEvent>, into file: inout [UInt8]) {
        file = base
        for event in events {
            guard case .write(let offset, let bytes) = event else { continue }
            let end = Int(offset) + bytes.count
            if file.count < end { file += [UInt8](repeating: 0, count: end - file.count) }
            file.replaceSubrange(Int(offset)..<end, with: bytes)
        }
    }

    /// No refcount may be lower than the references to its cluster, and no copied flag may claim a
    /// cluster that really is shared. Leaks are fine, and so is a copied flag left clear on a cluster
    /// that is ours alone (a window QEMU's snapshot code has too; `check -r all` clears it up).
    static func verify(_ bytes: [UInt8], path: String, askQemu: Bool) throws {
        try ImageBytes.writeFile(path, bytes)
        let report = try Qcow2Image(path: path, readOnly: true).check()
        let refcountErrors = report.messages.filter { $0.hasPrefix("ERROR") && !$0.contains("OFLAG_COPIED") }
        #expect(refcountErrors.isEmpty && report.checkErrors == 0, "\(refcountErrors.prefix(5))")
        if askQemu {
            let result = try QemuTool.imageStatus("check", path)
            #expect(
                result.status == 0 || result.status == 3 || !result.output.contains("refcount=0"), "\(result.output)")
        }
        // With the leaks gone, refcounts equal references: a set copied flag must then mean refcount 1.
        let image = try Qcow2Image(path: path)
        _ = try image.check(repair: .leaks)
        let after = try image.check()
        let dangerous = after.messages.filter { $0.contains("OFLAG_COPIED") && !$0.hasSuffix("refcount=1") }
        #expect(dangerous.isEmpty && after.leaks == 0, "\(dangerous.prefix(5))")
        try image.close()
    }

    @Test(arguments: [512, 65536, 32768]) func everyCrashPointLeavesAConsistentImage(_ clusterSize: Int) throws {
        let directory = try ScratchDirectory()
        let path = directory.file("image.qcow2")
        // 32 KiB clusters run with extended L2 entries.
        try Qcow2Image.create(
            path: path,
            options: Qcow2CreateOptions(size: 2 << 20, clusterSize: clusterSize, extendedL2: clusterSize == 32768))
        let base = try ImagePatcher.bytes(path)
        let journal = Journal()
        let image = try Qcow2Image(path: path)
        image.writeObserver = { journal.events.append($0) }

        try image.resize(to: 12 << 20)
        let chunk = ImageBytes.noise(seed: 11, count: 65536)
        for index in 0..<150 {
            try ImageBytes.write(image, at: UInt64(index) * 80_000, chunk)
            if index % 50 == 49 { try image.flush() }
        }
        try image.createSnapshot(name: "s")
        try ImageBytes.write(image, at: 5000, ImageBytes.pattern(1, 300_000))
        try image.discard(at: 1 << 20, length: 1 << 20)
        try image.writeZeroes(at: 3 << 20, length: 500_000)
        let compressible = ImageBytes.noise(seed: 2, count: clusterSize, compressible: true)
        try compressible.withUnsafeBytes { try image.writeCompressed(at: UInt64(8 << 20), from: $0) }
        try image.flush()
        try image.deleteSnapshot("s")
        try image.close()
        if clusterSize == 512 {
            // The refcount table outgrew its first cluster and moved (header bytes 56-59).
            #expect(try ImagePatcher.bytes(path)[56..<60] != [0, 0, 0, 1])
        }

        let barriers = journal.events.indices.filter {
            if case .barrier = journal.events[$0] { return true } else { return false }
        }
        #expect(barriers.count > 5)
        var random = MutationFuzzTests.Generator(state: UInt64(clusterSize))
        let crashed = directory.file("crashed.qcow2")
        var file: [UInt8] = []
        var checked = 0
        let cuts = [0] + barriers + [journal.events.count]
        for (position, cut) in cuts.enumerated() {
            let next = position + 1 < cuts.count ? cuts[position + 1] : cut
            // Everything before the barrier, plus a random subset of what follows up to the next one.
            var events = Array(journal.events[0..<cut])
            for event in journal.events[cut..<next] where random.below(2) == 0 { events.append(event) }
            Self.replay(base, events[...], into: &file)
            try Self.verify(file, path: crashed, askQemu: position % 8 == 0)
            checked += 1
        }
        #expect(checked == cuts.count)
    }
}
