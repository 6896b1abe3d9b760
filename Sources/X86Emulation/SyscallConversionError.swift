/// Why the syscall conversion cannot be set up (or carried out). Setup errors leave the guest kernel
/// running normally; only user-mode `syscall` stays broken.
public enum SyscallConversionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The code at the LSTAR value cannot be read through the guest page tables.
    case entryUnreadable(entry: UInt64, LinearMemoryError)
    /// The syscall entry does not begin with `swapgs` (optionally after `endbr64`).
    case entryWithoutSwapgs(entry: UInt64, bytes: [UInt8])
    /// IDTR.limit does not cover the 16-byte gate of vector 14.
    case idtTooSmall(limit: UInt16)
    /// The #PF gate cannot be read.
    case idtUnreadable(base: UInt64, LinearMemoryError)
    /// Vector 14 is not a present 64-bit interrupt gate (a trap gate would run the int3 natively).
    case pageFaultGateUnusable(attributes: UInt8)
    /// The #PF handler's first bytes cannot be read.
    case handlerUnreadable(handler: UInt64, LinearMemoryError)
    /// The #PF handler does not begin [endbr64] [clac | 3-byte nop] cld.
    case handlerWithoutCld(handler: UInt64, bytes: [UInt8])
    /// Where the `cld` belongs there is an `int3` this converter did not write.
    case foreignBreakpoint(address: UInt64)
    /// Writing the int3 over the handler's `cld` failed.
    case patchFailed(address: UInt64, LinearMemoryError)
    /// KVM did not return an MSR the conversion needs.
    case msrUnavailable(UInt32)

    public var description: String {
        let consequence = "; user-mode syscalls will not work in this guest"
        switch self {
        case .entryUnreadable(let entry, let error):
            return "cannot read the syscall entry at \(hex(entry)): \(error)" + consequence
        case .entryWithoutSwapgs(let entry, let bytes):
            return "the syscall entry at \(hex(entry)) does not start with swapgs (bytes \(hexBytes(bytes)))"
                + consequence
        case .idtTooSmall(let limit):
            return "the IDT limit \(hex(UInt64(limit))) does not cover the page-fault gate (vector 14)" + consequence
        case .idtUnreadable(let base, let error):
            return "cannot read the page-fault gate of the IDT at \(hex(base)): \(error)" + consequence
        case .pageFaultGateUnusable(let attributes):
            return "IDT vector 14 is not a present 64-bit interrupt gate (attributes \(hex(UInt64(attributes))))"
                + consequence
        case .handlerUnreadable(let handler, let error):
            return "cannot read the page-fault handler at \(hex(handler)): \(error)" + consequence
        case .handlerWithoutCld(let handler, let bytes):
            return "the page-fault handler at \(hex(handler)) does not start with [endbr64] [clac/nop] cld"
                + " (bytes \(hexBytes(bytes)))" + consequence
        case .foreignBreakpoint(let address):
            return "the page-fault handler holds an int3 at \(hex(address)) that the VMM did not write (a guest"
                + " debugger, or a snapshot restored without the converter's state)" + consequence
        case .patchFailed(let address, let error):
            return "cannot write the int3 patch at \(hex(address)): \(error)" + consequence
        case .msrUnavailable(let index):
            return "KVM did not return MSR \(hex(UInt64(index))) needed to convert a syscall"
        }
    }
}

func hexBytes(_ bytes: [UInt8]) -> String {
    bytes.map { $0 < 0x10 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: " ")
}
