import GuestMemory

/// Writes the guest's ACPI tables — RSDP → XSDT → {FADT → DSDT, MADT} — into the BIOS area at
/// `BootLayout.acpiTablesStart`, RSDP first so a legacy scan of 0xE0000–0xFFFFF finds it as well
/// (ACPI 6.4 §5.2.5.1).
public enum ACPITables {
    /// Tables start on 16-byte boundaries (the RSDP must; the others just stay tidy).
    static let alignment: UInt64 = 16

    /// The tables laid out from `BootLayout.acpiTablesStart`: (address, bytes) in writing order.
    static func build(vcpuCount: Int, pciMemoryWindow: PCIMemoryWindow? = nil) throws -> [(
        address: GuestAddress, bytes: [UInt8]
    )] {
        guard (1...BootLayout.maxVCPUCount).contains(vcpuCount) else {
            throw BootError.invalidVCPUCount(vcpuCount, maximum: BootLayout.maxVCPUCount)
        }
        var next = BootLayout.acpiTablesStart.rawValue
        func place(_ size: Int) -> UInt64 {
            let address = next
            // Sizes are at most a few KiB, far below the 128 KiB area; overflow is impossible.
            next = (address + UInt64(size)).alignedUp(to: alignment) ?? address
            return address
        }
        let rsdpAddress = place(RSDP.length)
        let dsdt = DSDT.table(pciMemoryWindow: pciMemoryWindow)
        let dsdtAddress = place(dsdt.count)
        let fadt = FADT.table(dsdt: dsdtAddress)
        let fadtAddress = place(fadt.count)
        let madt = MADT.table(vcpuCount: vcpuCount)
        let madtAddress = place(madt.count)
        let xsdt = XSDT.table(entries: [fadtAddress, madtAddress])
        let xsdtAddress = place(xsdt.count)
        guard next <= BootLayout.acpiTablesEnd else {
            throw BootError.invalidMemoryLayout("ACPI tables do not fit below 1 MiB")
        }
        return [
            (GuestAddress(rsdpAddress), RSDP.structure(xsdt: xsdtAddress)),
            (GuestAddress(xsdtAddress), xsdt),
            (GuestAddress(fadtAddress), fadt),
            (GuestAddress(dsdtAddress), dsdt),
            (GuestAddress(madtAddress), madt),
        ]
    }

    /// Writes the tables for `vcpuCount` vCPUs and returns the RSDP's address, which the boot protocol
    /// passes to the kernel (boot_params.acpi_rsdp_addr or hvm_start_info.rsdp_paddr). With a PCI
    /// memory window the DSDT declares the PCI root bridge.
    public static func write(
        vcpuCount: Int, pciMemoryWindow: PCIMemoryWindow? = nil, into memory: GuestMemory
    ) throws -> GuestAddress {
        let tables = try build(vcpuCount: vcpuCount, pciMemoryWindow: pciMemoryWindow)
        for table in tables {
            try memory.write(table.bytes, at: table.address, what: "ACPI tables")
        }
        return tables[0].address
    }
}

/// Root System Description Pointer, revision 2 (ACPI 6.4 §5.2.5.3, Table 5.3): points at the XSDT only.
enum RSDP {
    static let length = 36
    static let revision: UInt8 = 2
    static let signature: [UInt8] = Array("RSD PTR ".utf8)

    // Field offsets (Table 5.3).
    static let checksumOffset = 8
    static let oemIDOffset = 9
    static let revisionOffset = 15
    static let rsdtAddressOffset = 16
    static let lengthOffset = 20
    static let xsdtAddressOffset = 24
    static let extendedChecksumOffset = 32
    /// The ACPI 1.0 checksum covers the first 20 bytes.
    static let checksummedPrefix = 20

    static func structure(xsdt: UInt64) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: length)
        bytes.put(bytes: signature, at: 0)
        bytes.put(bytes: ACPITableHeader.oemID, at: oemIDOffset)
        bytes[revisionOffset] = revision
        bytes.put(UInt32(length), at: lengthOffset)
        bytes.put(xsdt, at: xsdtAddressOffset)
        bytes[checksumOffset] = ACPITableHeader.checksum(bytes[0..<checksummedPrefix])
        bytes[extendedChecksumOffset] = ACPITableHeader.checksum(bytes)
        return bytes
    }
}

/// Extended System Description Table (ACPI 6.4 §5.2.8): 64-bit pointers to the other tables.
enum XSDT {
    static let revision: UInt8 = 1

    static func table(entries: [UInt64]) -> [UInt8] {
        var body = [UInt8](repeating: 0, count: entries.count * 8)
        for (index, address) in entries.enumerated() { body.put(address, at: index * 8) }
        return ACPITableHeader.table(signature: "XSDT", revision: revision, oemTableID: "SWVXSDT", body: body)
    }
}
