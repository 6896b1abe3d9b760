import GuestMemory
import KVM
import Testing

@testable import X86Boot

@Suite struct LinuxLoaderTests {
    static let rsdp = GuestAddress(0xE0000)
    static let initrd: [UInt8] = Array((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })

    @Test func loadsPVHKernel() throws {
        let memory = try GuestMemory(size: 64 << 20)
        let loaded = try LinuxLoader.load(
            kernel: SyntheticELF().bytes, initrd: Self.initrd, commandLine: "console=ttyS0 quiet",
            rsdpAddress: Self.rsdp,
            into: memory)
        #expect(loaded.bootProtocol == .pvh)
        #expect(loaded.entry == 0x100_0040)
        #expect(loaded.kernelRange == 0x100_0000..<0x100_A000)
        // Top of low RAM, page aligned.
        let initrdStart = ((64 << 20) - UInt64(Self.initrd.count)) & ~0xFFF
        #expect(loaded.initrdRange == initrdStart..<(initrdStart + UInt64(Self.initrd.count)))
        #expect(try memory.bytes(initrdStart, Self.initrd.count) == Self.initrd)
        #expect(try memory.bytes(0x20000, 20) == Array("console=ttyS0 quiet".utf8) + [0])

        let startInfo = try memory.bytes(0x6000, 56)
        #expect(startInfo.load(UInt32.self, at: 0) == 0x336E_C578)
        #expect(startInfo.load(UInt32.self, at: 12) == 1)
        #expect(startInfo.load(UInt64.self, at: 16) == 0x6040)
        #expect(startInfo.load(UInt64.self, at: 24) == 0x20000)
        #expect(startInfo.load(UInt64.self, at: 32) == 0xE0000)
        #expect(startInfo.load(UInt64.self, at: 40) == 0x6080)
        #expect(startInfo.load(UInt32.self, at: 48) == 3)
        let module = try memory.bytes(0x6040, 32)
        #expect(module.load(UInt64.self, at: 0) == initrdStart)
        #expect(module.load(UInt64.self, at: 8) == UInt64(Self.initrd.count))
        let map = try memory.bytes(0x6080, 72)
        #expect(map.load(UInt64.self, at: 48) == 0x10_0000)
        #expect(map.load(UInt64.self, at: 56) == (64 << 20) - 0x10_0000)
        #expect(map.load(UInt32.self, at: 64) == 1)
        #expect(try memory.bytes(0x500, 48) == GDT.bytes)

        let (regs, sregs) = loaded.bootState(from: SpecialRegisters())
        #expect(regs.rip == 0x100_0040 && regs.rbx == 0x6000)
        #expect(sregs.cr0 == 0x11)
    }

    @Test func loadsBzImage() throws {
        let fixture = SyntheticBzImage()
        let memory = try GuestMemory(size: 64 << 20)
        let loaded = try LinuxLoader.load(
            kernel: fixture.bytes, initrd: Self.initrd, commandLine: "console=ttyS0", rsdpAddress: Self.rsdp,
            into: memory)
        #expect(loaded.bootProtocol == .linux64)
        #expect(loaded.entry == 0x100_0200)
        #expect(loaded.kernelRange == 0x100_0000..<0x140_0000)
        #expect(loaded.bootParameters == GuestAddress(0x7000))
        #expect(try memory.bytes(0x100_0000, fixture.payload.count) == fixture.payload)

        let zeroPage = try memory.bytes(0x7000, 4096)
        let initrdStart = try #require(loaded.initrdRange).lowerBound
        #expect(zeroPage.load(UInt32.self, at: 0x202) == 0x5372_6448)
        #expect(zeroPage[0x210] == 0xFF)
        #expect(zeroPage[0x211] & 0x81 == 0x81)
        #expect(zeroPage.load(UInt32.self, at: 0x228) == 0x20000)
        #expect(zeroPage.load(UInt32.self, at: 0x218) == UInt32(initrdStart))
        #expect(zeroPage.load(UInt32.self, at: 0x21C) == UInt32(Self.initrd.count))
        #expect(zeroPage.load(UInt64.self, at: 0x070) == 0xE0000)
        #expect(zeroPage[0x1E8] == 3)
        #expect(try memory.bytes(0x9000, 6 * 4096) == PageTables.bytes)
        #expect(try memory.bytes(0x500, 48) == GDT.bytes)
        #expect(try memory.bytes(0x20000, 14) == Array("console=ttyS0".utf8) + [0])

        let (regs, sregs) = loaded.bootState(from: SpecialRegisters())
        #expect(regs.rip == 0x100_0200 && regs.rsi == 0x7000)
        #expect(sregs.cr3 == 0x9000 && sregs.efer == 0x500)
    }

    /// The RNG seed reaches a bzImage as the only setup_data node: boot_params.hdr.setup_data points at
    /// `struct setup_data { next 0, type SETUP_RNG_SEED (9), len, data }`; with no seed the pointer is 0.
    @Test func bzImageGetsTheRandomSeedAsSetupData() throws {
        let seed = (0..<32).map { UInt8($0 * 7 + 1) }
        let memory = try GuestMemory(size: 64 << 20)
        _ = try LinuxLoader.load(
            kernel: SyntheticBzImage().bytes, initrd: nil, commandLine: "", rsdpAddress: Self.rsdp,
            randomSeed: seed, into: memory)
        let node = try memory.load(UInt64.self, at: GuestAddress(0x7250))
        #expect(node == 0x5000)
        let bytes = try memory.bytes(node, 16 + seed.count)
        #expect(bytes.load(UInt64.self, at: 0) == 0)
        #expect(bytes.load(UInt32.self, at: 8) == 9)
        #expect(bytes.load(UInt32.self, at: 12) == 32)
        #expect(Array(bytes[16...]) == seed)

        let unseeded = try GuestMemory(size: 64 << 20)
        _ = try LinuxLoader.load(
            kernel: SyntheticBzImage().bytes, initrd: nil, commandLine: "", rsdpAddress: Self.rsdp, into: unseeded)
        #expect(try unseeded.load(UInt64.self, at: GuestAddress(0x7250)) == 0)
    }

    @Test func setupDataSeedIsBounded() {
        let node = SetupData.rngSeed([UInt8](repeating: 0xAB, count: 10_000))
        #expect(node.payload.count == SetupData.maximumSeedLength)
        #expect(node.bytes.count == 16 + SetupData.maximumSeedLength)
    }

    @Test func withoutInitrd() throws {
        let memory = try GuestMemory(size: 64 << 20)
        let bz = try LinuxLoader.load(
            kernel: SyntheticBzImage().bytes, initrd: nil, commandLine: "", rsdpAddress: Self.rsdp, into: memory)
        #expect(bz.initrdRange == nil)
        #expect(try memory.load(UInt64.self, at: GuestAddress(0x7218)) == 0)  // ramdisk_image and size zero
        let pvh = try LinuxLoader.load(
            kernel: SyntheticELF().bytes, initrd: [], commandLine: "", rsdpAddress: Self.rsdp, into: memory)
        #expect(pvh.initrdRange == nil)
        #expect(try memory.load(UInt32.self, at: GuestAddress(0x600C)) == 0)  // nr_modules
    }

    @Test func initrdRespectsInitrdAddrMax() throws {
        var fixture = SyntheticBzImage()
        fixture.initrdAddrMax = 0x1FF_FFFF  // 32 MiB − 1
        let memory = try GuestMemory(size: 64 << 20)
        let loaded = try LinuxLoader.load(
            kernel: fixture.bytes, initrd: Self.initrd, commandLine: "", rsdpAddress: Self.rsdp, into: memory)
        let range = try #require(loaded.initrdRange)
        #expect(range.upperBound <= 0x200_0000)
        #expect(range.lowerBound % 4096 == 0)
        #expect(range.lowerBound >= loaded.kernelRange.upperBound)
    }

    @Test func initrdStaysBelowTheHoleWithLargeMemory() throws {
        let memory = try GuestMemory(size: 5 << 30)
        let loaded = try LinuxLoader.load(
            kernel: SyntheticELF().bytes, initrd: Self.initrd, commandLine: "", rsdpAddress: Self.rsdp, into: memory)
        let range = try #require(loaded.initrdRange)
        #expect(range.upperBound <= 0xC000_0000)
        #expect(range.lowerBound == (0xC000_0000 - UInt64(Self.initrd.count)) & ~0xFFF)
        #expect(try memory.load(UInt32.self, at: GuestAddress(0x6030)) == 4)  // memmap_entries incl. >4 GiB
    }

    @Test func commandLineLimits() throws {
        let memory = try GuestMemory(size: 64 << 20)
        let exact = String(repeating: "a", count: 2047)
        _ = try LinuxLoader.load(
            kernel: SyntheticBzImage().bytes, initrd: nil, commandLine: exact, rsdpAddress: Self.rsdp, into: memory)
        let long = exact + "b"
        for kernel in [SyntheticBzImage().bytes, SyntheticELF().bytes] {
            let error = #expect(throws: BootError.self) {
                try LinuxLoader.load(
                    kernel: kernel, initrd: nil, commandLine: long, rsdpAddress: Self.rsdp, into: memory)
            }
            #expect(error == .commandLineTooLong(length: 2048, limit: 2047))
            #expect(error?.description == "kernel command line is 2048 bytes; the kernel accepts at most 2047")
        }
        var small = SyntheticBzImage()
        small.cmdlineSize = 255
        #expect(throws: BootError.commandLineTooLong(length: 256, limit: 255)) {
            try LinuxLoader.load(
                kernel: small.bytes, initrd: nil, commandLine: String(repeating: "x", count: 256),
                rsdpAddress: Self.rsdp, into: memory)
        }
        // A kernel claiming a huge limit is still held to the 64 KiB area.
        small.cmdlineSize = 0xFFFF_FFFF
        #expect(throws: BootError.commandLineTooLong(length: 0x1_0000, limit: 0xFFFF)) {
            try LinuxLoader.load(
                kernel: small.bytes, initrd: nil, commandLine: String(repeating: "x", count: 0x1_0000),
                rsdpAddress: Self.rsdp, into: memory)
        }
        #expect(throws: BootError.commandLineContainsNUL) {
            try LinuxLoader.load(
                kernel: SyntheticBzImage().bytes, initrd: nil, commandLine: "a\u{0}b", rsdpAddress: Self.rsdp,
                into: memory)
        }
    }

    @Test func tooLittleMemorySaysHowMuch() throws {
        let memory = try GuestMemory(size: 24 << 20)
        let initrd = [UInt8](repeating: 1, count: 8 << 20)
        let error = #expect(throws: BootError.self) {
            try LinuxLoader.load(
                kernel: SyntheticBzImage().bytes, initrd: initrd, commandLine: "", rsdpAddress: Self.rsdp, into: memory)
        }
        // Kernel through init_size ends at 20 MiB; 8 MiB of initrd after it needs 28 MiB.
        #expect(
            error
                == .insufficientMemory(
                    what: "the kernel and a 8388608-byte initrd", needed: 28 << 20, available: 24 << 20))
        #expect(error?.description.contains("needs 28 MiB of low RAM, have 24 MiB") == true)
        // Nothing was written: the checks come first.
        #expect(try memory.bytes(0x100_0000, 16) == [UInt8](repeating: 0, count: 16))
        #expect(try memory.load(UInt32.self, at: GuestAddress(0x7202)) == 0)
    }

    @Test func rejectsNonKernels() throws {
        let memory = try GuestMemory(size: 64 << 20)
        for file in [[], [0x7F], Array("hello".utf8), [UInt8](repeating: 0, count: 4096)] {
            let error = #expect(throws: BootError.self) {
                try LinuxLoader.load(kernel: file, initrd: nil, commandLine: "", rsdpAddress: Self.rsdp, into: memory)
            }
            #expect(error != nil)
        }
        #expect(throws: BootError.notAKernel(fileSize: 4096)) {
            try LinuxLoader.load(
                kernel: [UInt8](repeating: 0, count: 4096), initrd: nil, commandLine: "", rsdpAddress: Self.rsdp,
                into: memory)
        }
    }
}
