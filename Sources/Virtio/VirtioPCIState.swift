import Devices

/// What only the virtio-pci function keeps (virtio 1.2 §4.1), under the transport's lock: the writable
/// registers of its configuration header, the PCI configuration access window, the ISR, the MSI-X
/// vectors the driver chose and the MSI-X table.
struct VirtioPCIState: VirtioTransportSpecificState {
    /// What raising an interrupt leads to once the lock is released: an MSI-X message to send (INTx
    /// follows the ISR inside the lock, `settleInterruptLine`).
    typealias Delivery = MSIXMessage

    /// The PCI configuration access capability's window into BAR 0 (§4.1.4.9).
    struct ConfigWindow: Sendable {
        var bar: UInt8 = 0
        var offset: UInt32 = 0
        var length: UInt32 = 0
        var data: UInt32 = 0

        /// The BAR 0 access the window selects: §4.1.4.9 allows lengths 1, 2, 4 at an aligned offset.
        var target: (offset: UInt64, size: Int)? {
            guard bar == 0, length == 1 || length == 2 || length == 4, offset % length == 0,
                UInt64(offset) + UInt64(length) <= VirtioPCILayout.barLength
            else { return nil }
            return (UInt64(offset), Int(length))
        }
    }

    /// The Command register's writable bits: memory space, bus master, interrupt disable.
    static let writableCommandBits =
        PCIConfigRegister.commandMemorySpace | PCIConfigRegister.commandBusMaster
        | PCIConfigRegister.commandInterruptDisable

    var command: UInt16 = 0
    /// BAR 0's low / high dword holds all ones from the sizing protocol and reads back the size mask.
    var isSizingBARLow = false
    var isSizingBARHigh = false
    /// Interrupt Line: a scratch byte for software (firmware writes the IRQ it routed INTA# to).
    var interruptLineRegister: UInt8 = 0
    var window = ConfigWindow()
    /// ISR status (§4.1.4.5): `VirtioPCICommonConfig.isrQueue` | `isrConfig`; cleared when read.
    var isr: UInt8 = 0
    /// msix_config.
    var configVector = VirtioPCICommonConfig.noVector
    /// queue_msix_vector of each queue.
    var queueVectors: [UInt16]
    var msix: MSIXTable
    /// INTA#.
    private var line: LatchedInterruptLine

    init(queueCount: Int, interruptLine: @escaping @Sendable (Bool) -> Void) {
        queueVectors = Array(repeating: VirtioPCICommonConfig.noVector, count: queueCount)
        msix = MSIXTable(vectorCount: queueCount + 1)
        line = LatchedInterruptLine(interruptLine)
    }

    var isMemorySpaceEnabled: Bool { command & PCIConfigRegister.commandMemorySpace != 0 }

    /// INTx is asserted while the ISR is not 0, MSI-X is off and the driver did not disable it (§4.1.4.5).
    var interruptLineLevel: Bool {
        isr != 0 && !msix.isEnabled && command & PCIConfigRegister.commandInterruptDisable == 0
    }

    /// The vector the driver asked for if the table has it, else NO_VECTOR: the driver reads the field
    /// back to see whether the mapping worked (§4.1.4.3).
    func acceptedVector(_ vector: UInt16) -> UInt16 {
        Int(vector) < msix.vectorCount ? vector : VirtioPCICommonConfig.noVector
    }

    /// Resetting the device unmaps its vectors and drops its interrupts; the MSI-X table and the
    /// configuration header belong to the PCI function and stay (Linux keeps MSI-X enabled across it).
    mutating func deviceReset() {
        isr = 0
        configVector = VirtioPCICommonConfig.noVector
        for index in queueVectors.indices { queueVectors[index] = VirtioPCICommonConfig.noVector }
        msix.clearPendingBits()
    }

    /// §4.1.4.5: a configuration change always sets its ISR bit; a queue's only without MSI-X. With MSI-X
    /// the source's vector is signalled (none for NO_VECTOR); without, INTx follows the ISR.
    mutating func raise(_ cause: VirtioInterruptCause) -> Delivery? {
        let vector: UInt16
        switch cause {
        case .configurationChange:
            isr |= VirtioPCICommonConfig.isrConfig
            vector = configVector
        case .usedBuffers(let queue):
            if !msix.isEnabled { isr |= VirtioPCICommonConfig.isrQueue }
            vector = queue >= 0 && queue < queueVectors.count ? queueVectors[queue] : VirtioPCICommonConfig.noVector
        }
        guard msix.isEnabled else { return nil }
        return msix.signal(vector)
    }

    mutating func settleInterruptLine() {
        line.settle(to: interruptLineLevel)
    }
}
