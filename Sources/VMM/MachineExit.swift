/// How a machine stopped, and the process exit code each outcome maps to (documented in docs/running.md).
public enum MachineExit: Equatable, Sendable, CustomStringConvertible {
    /// The guest powered off (ACPI S5).
    case poweredOff
    /// The guest asked for a reset (ACPI reset register, i8042 pulse, triple fault).
    case reset
    /// The user quit from the console (Ctrl-A x) or the VMM was asked to stop.
    case stopped
    /// A vCPU halted with no interrupt controller to wake it (tiny guests only).
    case halted(vcpu: UInt32)
    /// The guest did something the VMM cannot continue from; the report says what.
    case guestFault(String)
    /// The VMM itself failed (an ioctl, a thread).
    case vmmFailure(String)

    public var exitCode: Int32 {
        switch self {
        case .poweredOff, .stopped, .halted: 0
        case .reset: 3
        case .guestFault: 2
        case .vmmFailure: 1
        }
    }

    public var description: String {
        switch self {
        case .poweredOff: "guest powered off"
        case .reset: "guest requested a reset"
        case .stopped: "stopped"
        case .halted(let vcpu): "vCPU \(vcpu) halted"
        case .guestFault(let report): "guest fault:\n\(report)"
        case .vmmFailure(let message): "VMM failure: \(message)"
        }
    }
}
