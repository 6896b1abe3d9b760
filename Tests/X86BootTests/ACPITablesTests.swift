import GuestMemory
import Testing

@testable import X86Boot

/// Walks the tables the way an OS does — RSDP → XSDT → FADT → DSDT, XSDT → MADT — from guest memory.
@Suite struct ACPITablesTests {
    struct Tables {
        var rsdp: [UInt8]
        var byName: [String: (address: UInt64, bytes: [UInt8])] = [:]
    }

    static func table(at address: UInt64, in memory: GuestMemory) throws -> [UInt8] {
        let length = try memory.load(UInt32.self, at: GuestAddress(address + 4))
        #expect(length >= 36 && length < 0x10000)
        return try memory.bytes(address, Int(length))
    }

    static func signature(_ bytes: [UInt8]) -> String { String(decoding: bytes[0..<4], as: UTF8.self) }

    static func sum(_ bytes: some Sequence<UInt8>) -> UInt8 { bytes.reduce(0, &+) }

    static func walk(vcpuCount: Int) throws -> Tables {
        let memory = try GuestMemory(size: 16 << 20)
        let rsdpAddress = try ACPITables.write(vcpuCount: vcpuCount, into: memory)
        #expect(rsdpAddress == GuestAddress(0xE0000))
        var tables = Tables(rsdp: try memory.bytes(rsdpAddress.rawValue, 36))
        let xsdtAddress = tables.rsdp.load(UInt64.self, at: 24)
        let xsdt = try table(at: xsdtAddress, in: memory)
        tables.byName["XSDT"] = (xsdtAddress, xsdt)
        for index in 0..<((xsdt.count - 36) / 8) {
            let address = xsdt.load(UInt64.self, at: 36 + index * 8)
            let bytes = try table(at: address, in: memory)
            tables.byName[signature(bytes)] = (address, bytes)
        }
        if let fadt = tables.byName["FACP"] {
            let dsdtAddress = fadt.bytes.load(UInt64.self, at: 140)
            let dsdt = try table(at: dsdtAddress, in: memory)
            tables.byName[signature(dsdt)] = (dsdtAddress, dsdt)
        }
        return tables
    }

    @Test func rsdp() throws {
        let rsdp = try Self.walk(vcpuCount: 1).rsdp
        #expect(Array(rsdp[0..<8]) == Array("RSD PTR ".utf8))
        #expect(Self.sum(rsdp[0..<20]) == 0)
        #expect(Self.sum(rsdp) == 0)
        #expect(Array(rsdp[9..<15]) == Array("SWIFTV".utf8))
        #expect(rsdp[15] == 2)
        #expect(rsdp.load(UInt32.self, at: 16) == 0)  // no RSDT: XSDT only
        #expect(rsdp.load(UInt32.self, at: 20) == 36)
        #expect(rsdp.load(UInt64.self, at: 24) % 16 == 0)
    }

    @Test func linksAndChecksums() throws {
        let tables = try Self.walk(vcpuCount: 2)
        #expect(Set(tables.byName.keys) == ["XSDT", "FACP", "APIC", "DSDT"])
        #expect(tables.byName["XSDT"]?.bytes.count == 36 + 16)
        for (name, table) in tables.byName {
            #expect(Self.sum(table.bytes) == 0, "checksum of \(name)")
            #expect(table.bytes.load(UInt32.self, at: 4) == UInt32(table.bytes.count), "length of \(name)")
            #expect(Array(table.bytes[10..<16]) == Array("SWIFTV".utf8), "OEM id of \(name)")
            #expect(table.address >= 0xE0000 && table.address + UInt64(table.bytes.count) <= 0x10_0000)
        }
        let revisions = tables.byName.mapValues { $0.bytes[8] }
        #expect(revisions == ["XSDT": 1, "FACP": 6, "APIC": 5, "DSDT": 2])
    }

    @Test func fadt() throws {
        let tables = try Self.walk(vcpuCount: 1)
        let fadt = try #require(tables.byName["FACP"]).bytes
        let dsdtAddress = try #require(tables.byName["DSDT"]).address
        #expect(fadt.count == 276)
        #expect(fadt.load(UInt32.self, at: 40) == UInt32(dsdtAddress))
        #expect(fadt.load(UInt64.self, at: 140) == dsdtAddress)
        // WBINVD | PROC_C1 | SLP_BUTTON | RESET_REG_SUP; not HW_REDUCED_ACPI (bit 20).
        #expect(fadt.load(UInt32.self, at: 112) == (1 << 0) | (1 << 2) | (1 << 5) | (1 << 10))
        // RESET_REG: system I/O, 8 bits, offset 0, byte access, port 0x606; RESET_VALUE 1.
        #expect(Array(fadt[116..<128]) == [1, 8, 0, 1, 0x06, 0x06, 0, 0, 0, 0, 0, 0])
        #expect(fadt[128] == 1)
        // PM1a_EVT_BLK 0x600 (4 bytes) and PM1a_CNT_BLK 0x604 (2 bytes), in the 32-bit and X_ fields.
        #expect(fadt.load(UInt32.self, at: 56) == 0x600 && fadt.load(UInt32.self, at: 64) == 0x604)
        #expect(fadt[88] == 4 && fadt[89] == 2)
        #expect(Array(fadt[148..<160]) == [1, 32, 0, 3, 0x00, 0x06, 0, 0, 0, 0, 0, 0])  // X_PM1a_EVT_BLK
        #expect(Array(fadt[172..<184]) == [1, 16, 0, 2, 0x04, 0x06, 0, 0, 0, 0, 0, 0])  // X_PM1a_CNT_BLK
        // No SMI_CMD: always in ACPI mode. No PM timer, no GPE blocks, no sleep control registers.
        #expect(fadt.load(UInt32.self, at: 48) == 0 && fadt.load(UInt32.self, at: 76) == 0)
        #expect(Array(fadt[244..<268]) == Array(repeating: 0, count: 24))
        #expect(Array(fadt[268..<276]) == Array("SWIFTVRT".utf8))
        #expect(fadt.load(UInt16.self, at: 46) == 9)  // SCI_INT
    }

    @Test func dsdtS5Object() throws {
        let dsdt = try #require(try Self.walk(vcpuCount: 1).byName["DSDT"]).bytes
        #expect(
            Array(dsdt[36...]) == [0x08, 0x5F, 0x53, 0x35, 0x5F, 0x12, 0x07, 0x04, 0x0A, 0x05, 0x00, 0x00, 0x00])
        // Linux writes SLP_TYP << 10 | SLP_EN (1 << 13) to PM1a_CNT for S5.
        #expect(UInt16(ACPIPorts.s5SleepType) << 10 | 1 << 13 == 0x3400)
    }

    @Test(arguments: [1, 2, 4, 254])
    func madt(vcpuCount: Int) throws {
        let madt = try #require(try Self.walk(vcpuCount: vcpuCount).byName["APIC"]).bytes
        #expect(madt.count == 44 + 8 * vcpuCount + 12 + 10 + 10)
        #expect(madt.load(UInt32.self, at: 36) == 0xFEE0_0000)
        #expect(madt.load(UInt32.self, at: 40) == 1)  // PCAT_COMPAT
        var offset = 44
        var localAPICs: [(uid: UInt8, id: UInt8, flags: UInt32)] = []
        var ioapics: [[UInt8]] = []
        var overrides: [[UInt8]] = []
        for _ in 0..<1000 where offset < madt.count {
            let type = madt[offset]
            let length = Int(madt[offset + 1])
            #expect(length >= 2)
            let entry = Array(madt[offset..<(offset + length)])
            switch type {
            case 0:
                #expect(length == 8)
                localAPICs.append((entry[2], entry[3], entry.load(UInt32.self, at: 4)))
            case 1: ioapics.append(entry)
            case 2: overrides.append(entry)
            default: Issue.record("unexpected MADT entry type \(type)")
            }
            offset += max(length, 2)
        }
        #expect(offset == madt.count)
        #expect(localAPICs.count == vcpuCount)
        for (index, apic) in localAPICs.enumerated() {
            #expect(apic.uid == UInt8(index) && apic.id == UInt8(index) && apic.flags == 1)
        }
        #expect(ioapics == [[1, 12, UInt8(vcpuCount), 0, 0x00, 0x00, 0xC0, 0xFE, 0, 0, 0, 0]])
        #expect(
            overrides == [
                [2, 10, 0, 0, 2, 0, 0, 0, 0x00, 0x00],  // IRQ 0 → GSI 2
                [2, 10, 0, 9, 9, 0, 0, 0, 0x0D, 0x00],  // IRQ 9 (SCI) level, active high
            ])
    }

    @Test func rejectsBadVCPUCounts() throws {
        let memory = try GuestMemory(size: 16 << 20)
        #expect(throws: BootError.invalidVCPUCount(0, maximum: 254)) {
            try ACPITables.write(vcpuCount: 0, into: memory)
        }
        #expect(throws: BootError.self) { try ACPITables.write(vcpuCount: 255, into: memory) }
    }
}
