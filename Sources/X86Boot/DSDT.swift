/// Differentiated System Description Table (ACPI 6.4 §5.2.11.1): only the `\_S5` object, so that Linux
/// can power off through the FADT sleep control register (ACPI 6.4 §7.4.2 "\_Sx (System States)").
enum DSDT {
    /// DSDT revision 2: AML integers are 64-bit.
    static let revision: UInt8 = 2

    /// `Name (_S5, Package (4) { 5, 0, 0, 0 })`, hand-assembled (ACPI 6.4 §20.2.5 "Term Objects Encoding"):
    /// NameOp, NameSeg "_S5_", PackageOp, PkgLength (one byte: counts itself, NumElements and the
    /// elements), NumElements, BytePrefix 5 (SLP_TYPa), ZeroOp ×3 (SLP_TYPb and reserved).
    static let s5Object: [UInt8] = [
        0x08,  // NameOp
        0x5F, 0x53, 0x35, 0x5F,  // "_S5_"
        0x12,  // PackageOp
        0x07,  // PkgLength: 1 (itself) + 1 (NumElements) + 2 (BytePrefix 5) + 3 (ZeroOps)
        0x04,  // NumElements
        0x0A, ACPIPorts.s5SleepType,  // BytePrefix 5
        0x00, 0x00, 0x00,  // ZeroOp ×3
    ]

    static func table() -> [UInt8] {
        ACPITableHeader.table(signature: "DSDT", revision: revision, oemTableID: "SWVDSDT", body: s5Object)
    }
}
