import GuestMemory
import Testing

@testable import X86Boot

@Suite struct E820MapTests {
    @Test func map256MiB() throws {
        let memory = try GuestMemory(size: 256 << 20)
        #expect(
            try E820Map.entries(for: memory) == [
                E820Entry(address: 0, size: 0x9FC00, kind: .ram),
                E820Entry(address: 0x9FC00, size: 0x10_0000 - 0x9FC00, kind: .reserved),
                E820Entry(address: 0x10_0000, size: (256 << 20) - 0x10_0000, kind: .ram),
            ])
    }

    @Test func mapAbove4GiB() throws {
        let size: UInt64 = 5 << 30  // 3 GiB below the hole, 2 GiB above 4 GiB
        let memory = try GuestMemory(size: size)
        #expect(
            try E820Map.entries(for: memory) == [
                E820Entry(address: 0, size: 0x9FC00, kind: .ram),
                E820Entry(address: 0x9FC00, size: 0x10_0000 - 0x9FC00, kind: .reserved),
                E820Entry(address: 0x10_0000, size: 0xC000_0000 - 0x10_0000, kind: .ram),
                E820Entry(address: 0x1_0000_0000, size: 2 << 30, kind: .ram),
            ])
    }

    @Test func exactly1MiB() throws {
        let memory = try GuestMemory(size: 1 << 20)
        #expect(try E820Map.entries(for: memory).count == 2)
    }

    @Test func rejectsLayoutWithoutLowRAM() throws {
        let memory = try GuestMemory(ranges: [(GuestAddress(0x10_0000), 0x10_0000)])
        #expect(throws: BootError.self) { try E820Map.entries(for: memory) }
        let tiny = try GuestMemory(ranges: [(GuestAddress(0), 0x8_0000)])
        #expect(throws: BootError.self) { try E820Map.entries(for: tiny) }
    }

    @Test func typeNumbers() {
        #expect(E820Entry.Kind.ram.rawValue == 1)
        #expect(E820Entry.Kind.reserved.rawValue == 2)
        #expect(E820Entry.Kind.acpi.rawValue == 3)
    }
}
