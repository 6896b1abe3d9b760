import GuestMemory
import Testing

@testable import X86Boot

@Suite struct BzImageTests {
    @Test func parsesSetupHeader() throws {
        let image = try BzImage(parsing: SyntheticBzImage().bytes)
        #expect(image.version == 0x020F)
        #expect(image.setupSectors == 3)
        #expect(image.kernelOffset == 4 * 512)
        #expect(image.payloadSize == 0x2000)
        #expect(image.initrdAddressMax == 0x7FFF_FFFF)
        #expect(image.commandLineSize == 2047)
        #expect(image.kernelAlignment == 0x20_0000)
        #expect(image.relocatable)
        #expect(image.preferredAddress == 0x100_0000)
        #expect(image.initSize == 0x40_0000)
        #expect(image.loadAddress == 0x100_0000)
        #expect(image.footprint == 0x40_0000)
        // The header runs from 0x1F1 to 0x202 + 0x6A = 0x26C.
        #expect(image.setupHeader.startIndex == 0x1F1)
        #expect(image.setupHeader.endIndex == 0x26C)
    }

    @Test func zeroSetupSectsMeansFour() throws {
        var fixture = SyntheticBzImage()
        fixture.setupSects = 0
        let image = try BzImage(parsing: fixture.bytes)
        #expect(image.setupSectors == 4)
        #expect(image.kernelOffset == 5 * 512)
    }

    @Test func relocatableLoadAddressIsAligned() throws {
        var fixture = SyntheticBzImage()
        fixture.prefAddress = 0x10_0000
        fixture.kernelAlignment = 0x20_0000
        #expect(try BzImage(parsing: fixture.bytes).loadAddress == 0x20_0000)
        fixture.relocatable = 0
        #expect(try BzImage(parsing: fixture.bytes).loadAddress == 0x10_0000)
        fixture.prefAddress = 0  // never below 1 MiB
        #expect(try BzImage(parsing: fixture.bytes).loadAddress == 0x10_0000)
    }

    @Test func rejectsBadMagic() {
        var fixture = SyntheticBzImage()
        fixture.bootFlag = 0x1234
        #expect(throws: BootError.invalidBzImage("boot_flag is not 0xAA55")) { try BzImage(parsing: fixture.bytes) }
        fixture = SyntheticBzImage()
        fixture.magic = 0x1234_5678
        #expect(throws: BootError.self) { try BzImage(parsing: fixture.bytes) }
    }

    @Test func rejectsOldProtocol() {
        var fixture = SyntheticBzImage()
        fixture.version = 0x020B
        let error = #expect(throws: BootError.self) { try BzImage(parsing: fixture.bytes) }
        #expect(error == .unsupportedBootProtocol(version: 0x020B))
        #expect(error?.description.contains("2.11") == true)
        fixture.version = 0x0205
        #expect(
            (#expect(throws: BootError.self) { try BzImage(parsing: fixture.bytes) })?.description.contains("2.05")
                == true)
    }

    @Test func rejects32BitKernel() {
        var fixture = SyntheticBzImage()
        fixture.xloadflags = 0x0002  // XLF_CAN_BE_LOADED_ABOVE_4G without XLF_KERNEL_64
        let error = #expect(throws: BootError.self) { try BzImage(parsing: fixture.bytes) }
        #expect(error == .kernelNot64Bit)
        #expect(error?.description.contains("32-bit") == true)
    }

    @Test func rejectsZImage() {
        var fixture = SyntheticBzImage()
        fixture.loadflags = 0
        #expect(throws: BootError.self) { try BzImage(parsing: fixture.bytes) }
    }

    @Test func rejectsSetupSectsPastEnd() {
        var fixture = SyntheticBzImage()
        fixture.setupSects = 200  // claims 100 KiB of setup; the file is ~10 KiB
        var bytes = fixture.bytes
        bytes = Array(bytes.prefix(5 * 512))  // keep only a few sectors
        bytes[0x1F1] = 200
        #expect(throws: BootError.self) { try BzImage(parsing: bytes) }
        // A header without any payload after the setup sectors is truncated too.
        fixture = SyntheticBzImage()
        fixture.payload = []
        #expect(throws: BootError.self) { try BzImage(parsing: fixture.bytes) }
    }

    @Test func rejectsHeaderLongerThanSetup() {
        var fixture = SyntheticBzImage()
        fixture.jumpDisplacement = 0xFF  // header would end at 0x301, beyond boot_params' header area
        #expect(throws: BootError.self) { try BzImage(parsing: fixture.bytes) }
        fixture.jumpDisplacement = 0x20  // ends at 0x222, before init_size
        #expect(throws: BootError.self) { try BzImage(parsing: fixture.bytes) }
    }

    @Test func rejectsNonPowerOfTwoAlignment() {
        var fixture = SyntheticBzImage()
        fixture.kernelAlignment = 0x30_0000
        #expect(throws: BootError.self) { try BzImage(parsing: fixture.bytes) }
    }

    @Test func everyTruncationIsRejected() {
        let bytes = SyntheticBzImage().bytes
        for length in stride(from: 0, through: SyntheticBzImage().kernelOffset, by: 13) {
            #expect(throws: BootError.self) { try BzImage(parsing: Array(bytes.prefix(length))) }
        }
    }

    @Test func loadCopiesPayloadAndChecksRoom() throws {
        var fixture = SyntheticBzImage()
        fixture.payload = Array((0..<0x3000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        let image = try BzImage(parsing: fixture.bytes)
        let memory = try GuestMemory(size: 64 << 20)
        let range = try image.load(into: memory)
        #expect(range == 0x100_0000..<0x140_0000)
        #expect(try memory.bytes(0x100_0000, 0x3000) == fixture.payload)

        let small = try GuestMemory(size: 18 << 20)  // 16 MiB + 4 MiB init_size does not fit in 18 MiB
        let error = #expect(throws: BootError.self) { try image.load(into: small) }
        guard case .insufficientMemory(_, let needed, let available) = error else {
            Issue.record("expected insufficientMemory, got \(String(describing: error))")
            return
        }
        #expect(needed == 0x140_0000)
        #expect(available == 18 << 20)
        #expect(error?.description.contains("needs 20 MiB") == true)
    }

    @Test func syssizePastTheEndOfTheFileIsATruncatedKernel() {
        var image = SyntheticBzImage()
        image.syssize = UInt32(image.payload.count / 16 + 1)
        #expect(throws: BootError.self) { try BzImage(parsing: image.bytes) }
        image.syssize = 0
        #expect(throws: BootError.self) { try BzImage(parsing: image.bytes) }
        image.syssize = UInt32.max
        #expect(throws: BootError.self) { try BzImage(parsing: image.bytes) }
    }

    @Test func aLyingSetupSectsCountIsCaughtBySyssize() {
        var lying = SyntheticBzImage().bytes
        lying[0x1F1] = 9  // the file has 3 setup sectors: the payload would be read from too far in
        #expect(throws: BootError.self) { try BzImage(parsing: lying) }
    }
}
