/// The host bridge at 00:00.0: a read-only type 0 header with the host-bridge class (06/00/00).
///
/// Linux's type-1 probe on a machine without DMI looks for a host bridge (or VGA) class on bus 0
/// before it trusts the mechanism (arch/x86/pci/direct.c, pci_sanity_check), and the ACPI root
/// bridge is expected to have one. IDs: Red Hat's generic PCIe host bridge (1B36:0008).
public final class PCIHostBridge: PCIFunction {
    static let vendorID: UInt16 = 0x1B36
    static let deviceID: UInt16 = 0x0008
    /// Base class 06 (bridge), subclass 00 (host), programming interface 00.
    static let classCode: UInt32 = 0x06_0000

    private let header: [UInt8]

    public init() {
        var bytes = [UInt8](repeating: 0, count: 64)
        func put(_ value: UInt32, at offset: Int, count: Int) {
            for index in 0..<count { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
        }
        put(UInt32(Self.vendorID), at: PCIConfigRegister.vendorID, count: 2)
        put(UInt32(Self.deviceID), at: PCIConfigRegister.deviceID, count: 2)
        // Revision 0; the class code is three bytes from programming interface to base class.
        put(Self.classCode, at: PCIConfigRegister.classCode, count: 3)
        header = bytes
    }

    public func readConfig(offset: Int, size: Int) -> UInt32 {
        var value: UInt32 = 0
        for lane in 0..<min(max(size, 0), 4) {
            let index = offset + lane
            let byte = header.indices.contains(index) ? header[index] : 0
            value |= UInt32(byte) << UInt32(8 * lane)
        }
        return value
    }

    public func writeConfig(offset: Int, size: Int, value: UInt32) {}
}
