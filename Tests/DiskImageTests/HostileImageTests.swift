import DiskImage
import Foundation
import Testing

/// Malformed images must produce thrown errors with useful messages: never a crash, a hang or a huge
/// allocation.
@Suite struct HostileImageTests {
    /// A 4 MiB image with data in two L2-mapped clusters; L1 at 0x30000, refcount table at 0x10000,
    /// refcount block at 0x20000, L2 at 0x40000, data at 0x50000 and 0x60000.
    static func makeImage(_ directory: ScratchDirectory, options: String = "compat=1.1") throws -> String {
        let path = directory.file("victim.qcow2")
        try QemuTool.image("create", "-f", "qcow2", "-o", options, path, "4M")
        try QemuTool.io(path, ["write -P 0x5a 0 64k", "write -P 0x5b 1M 64k"])
        return path
    }

    /// Opens (and if that works, reads everything and writes once) expecting a DiskImageError.
    static func expectFailure(_ path: String, readOnly: Bool = true, containing text: String? = nil) {
        do {
            let image = try DiskImages.open(path: path, format: .qcow2, readOnly: readOnly)
            _ = try ImageBytes.read(image)
            if !readOnly {
                try ImageBytes.write(image, at: 0, [1, 2, 3])
                try image.flush()
            }
            Issue.record("no error for \(path)")
        } catch let error as DiskImageError {
            if let text { #expect(error.description.contains(text), "\(error)") }
        } catch {
            Issue.record("unexpected error type \(error)")
        }
    }

    struct HeaderCase: CustomTestStringConvertible, Sendable {
        let name: String
        let offset: Int
        let bytes: [UInt8]
        let message: String
        var testDescription: String { name }
    }

    static let headerCases: [HeaderCase] = [
        HeaderCase(name: "bad magic", offset: 0, bytes: [0x51, 0x46, 0x49, 0x00], message: ""),
        HeaderCase(name: "version 4", offset: 4, bytes: ImagePatcher.be32(4), message: "version 4"),
        HeaderCase(name: "cluster_bits 8", offset: 20, bytes: ImagePatcher.be32(8), message: "cluster_bits"),
        HeaderCase(name: "cluster_bits 30", offset: 20, bytes: ImagePatcher.be32(30), message: "cluster_bits"),
        HeaderCase(name: "huge l1_size", offset: 36, bytes: ImagePatcher.be32(0x7FFF_FFFF), message: "L1 table"),
        HeaderCase(name: "l1 past EOF", offset: 36, bytes: ImagePatcher.be32(4_000_000), message: "past the end"),
        HeaderCase(name: "l1_size too small", offset: 36, bytes: ImagePatcher.be32(0), message: "too small"),
        HeaderCase(name: "unaligned L1", offset: 40, bytes: ImagePatcher.be64(0x30008), message: "not cluster aligned"),
        HeaderCase(name: "L1 in header", offset: 40, bytes: ImagePatcher.be64(0), message: "overlaps the header"),
        HeaderCase(
            name: "unaligned refcount table", offset: 48, bytes: ImagePatcher.be64(0x10200),
            message: "not cluster aligned"),
        HeaderCase(
            name: "refcount table past EOF", offset: 48, bytes: ImagePatcher.be64(0x7FFF_0000_0000),
            message: "past the end"),
        HeaderCase(
            name: "huge refcount table", offset: 56, bytes: ImagePatcher.be32(0xFFFF_FFFF), message: "too large"),
        HeaderCase(name: "no refcount table", offset: 56, bytes: ImagePatcher.be32(0), message: "no refcount table"),
        HeaderCase(name: "too many snapshots", offset: 60, bytes: ImagePatcher.be32(0xFFFF_FFFF), message: "snapshots"),
        HeaderCase(
            name: "snapshot table past EOF", offset: 60, bytes: ImagePatcher.be32(1000) + ImagePatcher.be64(0x40000),
            message: "snapshot"),
        HeaderCase(
            name: "snapshot table beyond the file", offset: 60,
            bytes: ImagePatcher.be32(10) + ImagePatcher.be64(0x7000_0000), message: "past the end"),
        HeaderCase(name: "encrypted", offset: 32, bytes: ImagePatcher.be32(1), message: "encryption"),
        HeaderCase(
            name: "unknown incompatible bit", offset: 72, bytes: ImagePatcher.be64(1 << 40),
            message: "Unsupported qcow2 feature(s): unknown incompatible feature bit 40"),
        HeaderCase(
            name: "external data file", offset: 72, bytes: ImagePatcher.be64(1 << 2), message: "external data file"),
        HeaderCase(
            name: "compression bit without type", offset: 72, bytes: ImagePatcher.be64(1 << 3), message: "compression"),
        HeaderCase(name: "extended L2 with 4K-free header", offset: 20, bytes: ImagePatcher.be32(9), message: ""),
        HeaderCase(name: "refcount_order 7", offset: 96, bytes: ImagePatcher.be32(7), message: "refcount_order"),
        HeaderCase(name: "header_length 8", offset: 100, bytes: ImagePatcher.be32(8), message: "header_length"),
        HeaderCase(
            name: "header_length huge", offset: 100, bytes: ImagePatcher.be32(0x100_0000), message: "header_length"),
        HeaderCase(name: "compression type 9", offset: 104, bytes: [9], message: "compression type 9"),
        HeaderCase(
            name: "backing name offset outside", offset: 8, bytes: ImagePatcher.be64(0x20000) + ImagePatcher.be32(10),
            message: "backing file"),
        HeaderCase(
            name: "backing name too long", offset: 8, bytes: ImagePatcher.be64(0x200) + ImagePatcher.be32(2000),
            message: "too long"),
        HeaderCase(name: "size beyond L1", offset: 24, bytes: ImagePatcher.be64(1 << 62), message: "too small"),
        HeaderCase(
            name: "extension overruns the cluster", offset: 112,
            bytes: ImagePatcher.be32(0x1234_5678) + ImagePatcher.be32(0xFFFF_FF00), message: "too large"),
    ]

    @Test(arguments: headerCases) func rejectsBadHeaders(_ testCase: HeaderCase) throws {
        let directory = try ScratchDirectory()
        let path = try Self.makeImage(directory)
        try ImagePatcher.patch(path, at: testCase.offset, testCase.bytes)
        Self.expectFailure(path, containing: testCase.message.isEmpty ? nil : testCase.message)
        Self.expectFailure(path, readOnly: false, containing: testCase.message.isEmpty ? nil : testCase.message)
    }

    @Test func namesUnknownFeaturesFromTheFeatureTable() throws {
        let directory = try ScratchDirectory()
        let path = try Self.makeImage(directory)
        // Rename table entry 4 ("extended L2 entries", incompatible bit 4) to bit 9 with a new name.
        let table = 0x70 + 8
        try ImagePatcher.patch(path, at: table + 4 * 48, [0, 9] + Array("time travel".utf8) + [0])
        try ImagePatcher.patch(path, at: 72, ImagePatcher.be64(1 << 9))
        Self.expectFailure(path, containing: "Unsupported qcow2 feature(s): time travel")
    }

    @Test(arguments: [0, 50, 71, 100, 0x200, 0x10000, 0x20008, 0x30004, 0x40010, 0x50000 + 100])
    func rejectsTruncatedFiles(_ length: Int) throws {
        let directory = try ScratchDirectory()
        let path = try Self.makeImage(directory)
        try ImagePatcher.truncate(path, to: length)
        do {
            let image = try Qcow2Image(path: path, readOnly: true)
            _ = try ImageBytes.read(image)
            // Data past the end of a shortened file may legitimately read as zeroes only for the last
            // cluster's tail; anything that loses tables must have thrown.
            #expect(length > 0x50000)
        } catch is DiskImageError {
        }
    }

    struct TableCase: CustomTestStringConvertible, Sendable {
        let name: String
        let offset: Int
        let value: UInt64
        let readOnly: Bool
        let message: String
        var testDescription: String { name }
    }

    static let tableCases: [TableCase] = [
        TableCase(
            name: "L2 past EOF", offset: 0x30000, value: 1 << 63 | 0x7000_0000, readOnly: true, message: "past the end"),
        TableCase(
            name: "L2 unaligned", offset: 0x30000, value: 1 << 63 | 0x40200, readOnly: true,
            message: "not cluster aligned"),
        TableCase(
            name: "L2 is the L1 table", offset: 0x30000, value: 1 << 63 | 0x30000, readOnly: true,
            message: "overlaps the L1"),
        TableCase(
            name: "L2 is the refcount table", offset: 0x30000, value: 1 << 63 | 0x10000, readOnly: true,
            message: "overlaps the refcount table"),
        TableCase(
            name: "data past EOF", offset: 0x40000, value: 1 << 63 | 0x9_0000_0000, readOnly: true,
            message: "past the end"),
        TableCase(
            name: "data unaligned", offset: 0x40000, value: 1 << 63 | 0x50200, readOnly: true,
            message: "not cluster aligned"),
        TableCase(
            name: "data over the L1 table", offset: 0x40000, value: 1 << 63 | 0x30000, readOnly: false,
            message: "overlaps image metadata"),
        TableCase(
            name: "data over the refcount block", offset: 0x40000, value: 1 << 63 | 0x20000, readOnly: false,
            message: "overlaps image metadata"),
        TableCase(
            name: "compressed garbage", offset: 0x40000, value: 1 << 62 | 0x20000, readOnly: true,
            message: "compressed cluster"),
        TableCase(
            name: "compressed past EOF", offset: 0x40000, value: 1 << 62 | 0xF_0000_0000, readOnly: true,
            message: "past the end"),
        TableCase(
            name: "refcount block is the table (loop)", offset: 0x10000, value: 0x10000, readOnly: false,
            message: "refcount"),
        TableCase(
            name: "refcount block unaligned", offset: 0x10000, value: 0x20200, readOnly: false,
            message: "not cluster aligned"),
        TableCase(
            name: "refcount block past EOF", offset: 0x10000, value: 0x4_0000_0000, readOnly: false,
            message: "past the end"),
    ]

    @Test(arguments: tableCases) func rejectsBadTableEntries(_ testCase: TableCase) throws {
        let directory = try ScratchDirectory()
        let path = try Self.makeImage(directory)
        try ImagePatcher.patch(path, at: testCase.offset, ImagePatcher.be64(testCase.value))
        if testCase.readOnly {
            Self.expectFailure(path, containing: testCase.message)
        } else {
            // Reading may succeed; writing (which allocates or writes in place) must refuse.
            do {
                let image = try Qcow2Image(path: path)
                try ImageBytes.write(image, at: 0, ImageBytes.pattern(1, 100))
                try ImageBytes.write(image, at: 2 << 20, ImageBytes.pattern(1, 100))
                try image.close()
                Issue.record("no error")
            } catch let error as DiskImageError {
                #expect(error.description.contains(testCase.message), "\(error)")
            }
        }
        // The check never crashes on it either.
        if let image = try? Qcow2Image(path: path, readOnly: true) {
            let report = try? image.check()
            #expect(report == nil || !report!.isClean || testCase.name.contains("refcount"))
        }
    }

    @Test func refusesWritingAnImageMarkedCorrupt() throws {
        let directory = try ScratchDirectory()
        let path = try Self.makeImage(directory)
        try ImagePatcher.patch(path, at: 72, ImagePatcher.be64(1 << 1))
        Self.expectFailure(path, readOnly: false, containing: "marked corrupt")
        let image = try Qcow2Image(path: path, readOnly: true)
        #expect(image.headerInfo.corrupt)
        #expect(try ImageBytes.read(image).count == 4 << 20)
        try image.close()
        // A check with repair clears the bit when nothing is wrong.
        let repairing = try Qcow2Image(path: path, allowCorrupt: true)
        #expect(try repairing.check(repair: .all).isClean)
        try repairing.close()
        #expect(try Qcow2Image(path: path).headerInfo.corrupt == false)
    }

    @Test func rejectsInvalidExtendedL2Bitmaps() throws {
        let directory = try ScratchDirectory()
        let path = try Self.makeImage(directory, options: "extended_l2=on")
        // Subcluster 0 both allocated and zero.
        try ImagePatcher.patch(path, at: 0x40008, ImagePatcher.be64(1 << 32 | 1))
        Self.expectFailure(path, containing: "both allocated and zero")
        let report = try Qcow2Image(path: path, readOnly: true).check()
        #expect(report.corruptions > 0)
    }
}
