/// A guest linear-address access that cannot be carried out. The guest chose the address, so each case is
/// an ordinary outcome to report, never a crash.
public enum LinearMemoryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The guest page tables do not map this linear address.
    case notMapped(linearAddress: UInt64)
    /// A write needs a writable mapping and this page is read-only.
    case notWritable(linearAddress: UInt64)
    /// A ring-3 access needs a user page and this page is supervisor-only.
    case notUserAccessible(linearAddress: UInt64)
    /// The page tables point outside guest RAM (e.g. at an MMIO hole).
    case outsideRAM(linearAddress: UInt64, physicalAddress: UInt64, length: Int)
    /// [address, address+length) wraps around the 64-bit address space.
    case addressOverflow(linearAddress: UInt64, length: Int)
    /// The access is empty, negative or longer than `LinearMemoryLimits.maximumAccessLength`.
    case invalidLength(Int)
    /// KVM_TRANSLATE itself failed.
    case translationFailed(linearAddress: UInt64, reason: String)

    public var description: String {
        switch self {
        case .notMapped(let address):
            return "linear address \(hex(address)) is not mapped by the guest page tables"
        case .notWritable(let address):
            return "linear address \(hex(address)) is mapped read-only"
        case .notUserAccessible(let address):
            return "linear address \(hex(address)) is a supervisor page, accessed from ring 3"
        case .outsideRAM(let linear, let physical, let length):
            return "linear address \(hex(linear)) maps to \(hex(physical))+\(length), outside guest RAM"
        case .addressOverflow(let address, let length):
            return "access of \(length) bytes at \(hex(address)) wraps around the address space"
        case .invalidLength(let length):
            return "access length \(length) is not in 1...\(LinearMemoryLimits.maximumAccessLength)"
        case .translationFailed(let address, let reason):
            return "KVM_TRANSLATE of \(hex(address)) failed: \(reason)"
        }
    }
}

func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
