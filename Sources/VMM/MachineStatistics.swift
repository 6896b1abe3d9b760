import Synchronization

/// Exit counters, shared by all vCPU threads (relaxed atomics: diagnostics, not synchronization).
public final class MachineStatistics: Sendable {
    public let exits = Atomic<UInt64>(0)
    public let pioExits = Atomic<UInt64>(0)
    public let mmioExits = Atomic<UInt64>(0)
    public let completedInstructions = Atomic<UInt64>(0)
    public let convertedSyscalls = Atomic<UInt64>(0)
    public let pageFaultPassthroughs = Atomic<UInt64>(0)

    public init() {}

    public var summary: String {
        "exits=\(exits.load(ordering: .relaxed)) pio=\(pioExits.load(ordering: .relaxed))"
            + " mmio=\(mmioExits.load(ordering: .relaxed))"
            + " completed-instructions=\(completedInstructions.load(ordering: .relaxed))"
            + " syscalls-converted=\(convertedSyscalls.load(ordering: .relaxed))"
            + " page-faults=\(pageFaultPassthroughs.load(ordering: .relaxed))"
    }
}
