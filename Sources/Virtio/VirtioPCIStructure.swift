/// The virtio-pci structure an offset in BAR 0 falls in (`VirtioPCILayout`), with the offset inside it.
enum VirtioPCIStructure: Equatable {
    case commonConfig(field: UInt64)
    case isr
    case deviceConfig(offset: UInt64)
    /// A queue's notification slot; `aligned` when the access starts at the slot.
    case notify(queue: Int, aligned: Bool)
    case msixTable(offset: UInt64)
    case msixPendingBits(offset: UInt64)
    case none

    init(offset: UInt64, queueCount: Int) {
        typealias Layout = VirtioPCILayout
        let vectors = UInt64(queueCount + 1)
        switch offset {
        case Layout.commonConfig..<(Layout.commonConfig + Layout.commonConfigLength):
            self = .commonConfig(field: offset - Layout.commonConfig)
        case Layout.isr:
            self = .isr
        case Layout.deviceConfig..<(Layout.deviceConfig + Layout.deviceConfigLength):
            self = .deviceConfig(offset: offset - Layout.deviceConfig)
        case Layout.notify..<(Layout.notify + UInt64(queueCount) * Layout.notifyOffsetMultiplier):
            let slot = offset - Layout.notify
            self = .notify(
                queue: Int(slot / Layout.notifyOffsetMultiplier), aligned: slot % Layout.notifyOffsetMultiplier == 0)
        case Layout.msixTable..<(Layout.msixTable + vectors * MSIXTable.entrySize):
            self = .msixTable(offset: offset - Layout.msixTable)
        case Layout.msixPendingBits..<(Layout.msixPendingBits + (vectors + 63) / 64 * 8):
            self = .msixPendingBits(offset: offset - Layout.msixPendingBits)
        default:
            self = .none
        }
    }
}
