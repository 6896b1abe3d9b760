import Foundation
import GuestMemory
import Testing

@testable import X86Boot

/// A scratch file removed when the value goes away; each test gets its own.
final class ScratchFile {
    let path: String

    init(_ bytes: [UInt8]) throws {
        path =
            FileManager.default.temporaryDirectory
            .appendingPathComponent("swiftvirt-bootfile-\(getpid())-\(UUID().uuidString)").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Cuts the file to `length` bytes behind the back of an open `BootFile`.
    func truncate(to length: Int) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(length))
        try handle.close()
    }
}

@Suite struct BootFileTests {
    static let pattern: [UInt8] = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }

    @Test func readsAShortFile() throws {
        let scratch = try ScratchFile(Self.pattern)
        let file = try BootFile(path: scratch.path)
        #expect(file.size == 300)
        #expect(try file.read(at: 0, count: 300) == Self.pattern)
        #expect(try file.read(at: 100, count: 17) == Array(Self.pattern[100..<117]))
        #expect(try file.read(at: 300, count: 0) == [])
    }

    @Test func readingPastTheEndIsAnError() throws {
        let scratch = try ScratchFile(Self.pattern)
        let file = try BootFile(path: scratch.path)
        #expect(throws: BootFileError.outOfRange(offset: 290, count: 11, size: 300)) {
            try file.read(at: 290, count: 11)
        }
        #expect(throws: BootFileError.outOfRange(offset: 301, count: 0, size: 300)) {
            try file.read(at: 301, count: 0)
        }
        #expect(throws: BootFileError.self) { try file.read(at: UInt64.max, count: 2) }
        #expect(throws: BootFileError.self) { try file.read(at: 0, count: -1) }
    }

    @Test func readsIntoABuffer() throws {
        let scratch = try ScratchFile(Self.pattern)
        let file = try BootFile(path: scratch.path)
        var buffer = [UInt8](repeating: 0xEE, count: 64)
        try buffer.withUnsafeMutableBytes {
            try file.read(at: 200, into: UnsafeMutableRawBufferPointer(rebasing: $0[8..<40]))
        }
        #expect(buffer[0..<8].allSatisfy { $0 == 0xEE })
        #expect(Array(buffer[8..<40]) == Array(Self.pattern[200..<232]))
        #expect(buffer[40...].allSatisfy { $0 == 0xEE })

        // Straight into guest RAM, as the loader does.
        let memory = try GuestMemory(size: 2 << 20)
        try memory.copy(from: file, offset: 0, length: 300, to: GuestAddress(0x1000), what: "test")
        #expect(try memory.bytes(0x1000, 300) == Self.pattern)
        #expect(throws: BootError.self) {
            try memory.copy(from: file, offset: 0, length: 300, to: GuestAddress((2 << 20) - 100), what: "test")
        }
    }

    @Test func aFileThatShrinksAfterOpeningGivesAShortRead() throws {
        let scratch = try ScratchFile(Self.pattern)
        let file = try BootFile(path: scratch.path)
        try scratch.truncate(to: 100)
        #expect(throws: BootFileError.shortRead(path: scratch.path, offset: 100, size: 300)) {
            try file.read(at: 50, count: 200)
        }
    }

    @Test func missingEmptyAndNonRegularFiles() throws {
        #expect(throws: BootFileError.notFound(path: "/nonexistent/vmlinux")) {
            try BootFile(path: "/nonexistent/vmlinux")
        }
        let directory = FileManager.default.temporaryDirectory.path
        #expect(throws: BootFileError.notRegularFile(path: directory)) { try BootFile(path: directory) }
        let empty = try ScratchFile([])
        #expect(try BootFile(path: empty.path).size == 0)
    }

    @Test func inMemoryImagesCheckTheirBoundsToo() throws {
        let bytes = Self.pattern
        #expect(try bytes.read(at: 10, count: 5) == Array(Self.pattern[10..<15]))
        #expect(throws: BootFileError.outOfRange(offset: 299, count: 2, size: 300)) {
            try bytes.read(at: 299, count: 2)
        }
        var buffer = [UInt8](repeating: 0, count: 4)
        #expect(throws: BootFileError.self) {
            try buffer.withUnsafeMutableBytes { try bytes.read(at: UInt64.max - 1, into: $0) }
        }
    }

    // MARK: The loader over files

    @Test func elfWhoseSegmentRunsPastTheFileFailsCleanly() throws {
        var bytes = SyntheticELF().bytes
        let header = SyntheticELF.programHeaderOffset(2)
        let offset = bytes.load(UInt64.self, at: header + 8)
        bytes.store(UInt64(bytes.count) - offset + 1, at: header + 32)  // p_filesz one byte past the end
        bytes.store(UInt64(0x2000), at: header + 40)
        let expected = BootError.truncated(
            what: "PT_LOAD segment 2", needed: UInt64(bytes.count) + 1, fileSize: UInt64(bytes.count))
        #expect(throws: expected) { try ELFKernel(parsing: bytes) }
        let scratch = try ScratchFile(bytes)
        #expect(throws: expected) { try ELFKernel(parsing: try BootFile(path: scratch.path)) }
        let memory = try GuestMemory(size: 64 << 20)
        #expect(throws: expected) {
            try LinuxLoader.load(
                kernel: try BootFile(path: scratch.path), initrd: nil, commandLine: "",
                rsdpAddress: GuestAddress(0xE0000), into: memory)
        }
    }

    @Test func kernelTruncatedBetweenParsingAndLoadingFailsCleanly() throws {
        let scratch = try ScratchFile(SyntheticELF().bytes)
        let elf = try ELFKernel(parsing: try BootFile(path: scratch.path))
        try scratch.truncate(to: 400)
        #expect(throws: BootFileError.self) { try elf.load(into: try GuestMemory(size: 64 << 20)) }
    }

    @Test(arguments: [false, true])
    func loadsKernelAndInitrdFromFiles(bzImage: Bool) throws {
        let kernelBytes = bzImage ? SyntheticBzImage().bytes : SyntheticELF().bytes
        let kernel = try ScratchFile(kernelBytes)
        let initrd = try ScratchFile(LinuxLoaderTests.initrd)
        let fromFiles = try GuestMemory(size: 64 << 20)
        let fromArrays = try GuestMemory(size: 64 << 20)
        let loaded = try LinuxLoader.load(
            kernel: try BootFile(path: kernel.path), initrd: try BootFile(path: initrd.path),
            commandLine: "console=ttyS0", rsdpAddress: GuestAddress(0xE0000), into: fromFiles)
        let expected = try LinuxLoader.load(
            kernel: kernelBytes, initrd: LinuxLoaderTests.initrd, commandLine: "console=ttyS0",
            rsdpAddress: GuestAddress(0xE0000), into: fromArrays)
        #expect(loaded.entry == expected.entry)
        #expect(loaded.kernelRange == expected.kernelRange)
        #expect(loaded.initrdRange == expected.initrdRange)
        // Every byte of low RAM the loader may touch is the same either way.
        #expect(try fromFiles.hasSameBytes(as: fromArrays, length: 64 << 20))
        let initrdRange = try #require(loaded.initrdRange)
        #expect(try fromFiles.bytes(initrdRange.lowerBound, LinuxLoaderTests.initrd.count) == LinuxLoaderTests.initrd)
    }

    @Test func anEmptyKernelFileIsNotAKernel() throws {
        let scratch = try ScratchFile([])
        #expect(throws: BootError.notAKernel(fileSize: 0)) {
            try LinuxLoader.load(
                kernel: try BootFile(path: scratch.path), initrd: nil, commandLine: "",
                rsdpAddress: GuestAddress(0xE0000), into: try GuestMemory(size: 64 << 20))
        }
    }

    /// The real test guest read through `BootFile` lands in guest RAM exactly as when read whole.
    @Test(.enabled(if: RealKernelTests.hasVmlinux, "set SWIFTVIRT_GUEST_DIR to a directory with vmlinux"))
    func realVmlinuxFromFileMatchesInMemoryLoad() throws {
        let directory = try #require(RealKernelTests.directory)
        let kernelPath = directory.appendingPathComponent("vmlinux").path
        let initrdPath = directory.appendingPathComponent("initramfs.cpio.gz").path
        let hasInitrd = FileManager.default.fileExists(atPath: initrdPath)
        let fromFiles = try GuestMemory(size: 256 << 20)
        let fromArrays = try GuestMemory(size: 256 << 20)
        let loaded = try LinuxLoader.load(
            kernel: try BootFile(path: kernelPath), initrd: hasInitrd ? try BootFile(path: initrdPath) : nil,
            commandLine: "console=ttyS0", rsdpAddress: GuestAddress(0xE0000), into: fromFiles)
        let expected = try LinuxLoader.load(
            kernel: try #require(RealKernelTests.file("vmlinux")),
            initrd: hasInitrd ? RealKernelTests.file("initramfs.cpio.gz") : nil,
            commandLine: "console=ttyS0", rsdpAddress: GuestAddress(0xE0000), into: fromArrays)
        #expect(loaded.entry == expected.entry)
        #expect(loaded.initrdRange == expected.initrdRange)
        #expect(try fromFiles.hasSameBytes(as: fromArrays, length: 256 << 20))
    }
}

extension GuestMemory {
    /// True when [0, length) holds the same bytes in both memories (memcmp: fast even in debug builds).
    func hasSameBytes(as other: GuestMemory, length: Int) throws -> Bool {
        try withBytes(at: GuestAddress(0), length: length) { mine in
            try other.withBytes(at: GuestAddress(0), length: length) { theirs in
                guard let mine = mine.baseAddress, let theirs = theirs.baseAddress else { return length == 0 }
                return memcmp(mine, theirs, length) == 0
            }
        }
    }
}
