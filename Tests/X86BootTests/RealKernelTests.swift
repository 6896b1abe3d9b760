import Foundation
import GuestMemory
import KVM
import Testing

@testable import X86Boot

/// Runs the loader over the real test-guest kernel when SWIFTVIRT_GUEST_DIR names a directory holding
/// `vmlinux` and `bzImage` (what scripts/guest/build.sh produces). Skipped otherwise.
@Suite struct RealKernelTests {
    static let directory: URL? = ProcessInfo.processInfo.environment["SWIFTVIRT_GUEST_DIR"].map {
        URL(fileURLWithPath: $0)
    }

    static func file(_ name: String) -> [UInt8]? {
        guard let url = directory?.appendingPathComponent(name), let data = try? Data(contentsOf: url) else {
            return nil
        }
        return [UInt8](data)
    }

    static var hasVmlinux: Bool { file("vmlinux") != nil }
    static var hasBzImage: Bool { file("bzImage") != nil }

    @Test(.enabled(if: hasVmlinux, "set SWIFTVIRT_GUEST_DIR to a directory with vmlinux"))
    func loadsRealVmlinuxThroughPVH() throws {
        let kernel = try #require(Self.file("vmlinux"))
        let elf = try ELFKernel(parsing: kernel)
        let entry = try #require(elf.pvhEntry, "vmlinux built without CONFIG_PVH")
        #expect(elf.physicalRange.lowerBound >= 0x10_0000)

        let memory = try GuestMemory(size: 256 << 20)
        let rsdp = try ACPITables.write(vcpuCount: 2, into: memory)
        let initrd = Self.file("initramfs.cpio.gz")
        let loaded = try LinuxLoader.load(
            kernel: kernel, initrd: initrd, commandLine: "console=ttyS0", rsdpAddress: rsdp, into: memory)
        #expect(loaded.bootProtocol == .pvh)
        #expect(loaded.entry == UInt64(entry))
        if let initrd, let range = loaded.initrdRange {
            #expect(try memory.bytes(range.lowerBound, min(initrd.count, 4096)) == Array(initrd.prefix(4096)))
        }
        // The first PT_LOAD segment's bytes are where its p_paddr says.
        let first = try #require(elf.segments.first)
        let length = Int(min(first.fileSize, 4096))
        #expect(
            try memory.bytes(first.physicalAddress, length)
                == Array(kernel[Int(first.fileOffset)..<(Int(first.fileOffset) + length)]))
    }

    @Test(.enabled(if: hasBzImage, "set SWIFTVIRT_GUEST_DIR to a directory with bzImage"))
    func loadsRealBzImage() throws {
        let kernel = try #require(Self.file("bzImage"))
        let image = try BzImage(parsing: kernel)
        #expect(image.version >= 0x020C)
        #expect(image.xloadflags & 1 == 1)
        #expect(image.initSize > 0)

        let memory = try GuestMemory(size: 256 << 20)
        let rsdp = try ACPITables.write(vcpuCount: 1, into: memory)
        let loaded = try LinuxLoader.load(
            kernel: kernel, initrd: Self.file("initramfs.cpio.gz"), commandLine: "console=ttyS0", rsdpAddress: rsdp,
            into: memory)
        #expect(loaded.bootProtocol == .linux64)
        #expect(loaded.entry == loaded.kernelRange.lowerBound + 0x200)
        let zeroPage = try memory.bytes(0x7000, 4096)
        #expect(zeroPage.load(UInt16.self, at: 0x206) == image.version)
        #expect(zeroPage[0x210] == 0xFF)
        #expect(Array(zeroPage[0x1F1..<0x202]) == Array(kernel[0x1F1..<0x202]))
    }
}
