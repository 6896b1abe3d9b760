/// A transport's interrupt line (virtio-mmio's, virtio-pci's INTx), kept in the transport's locked state
/// and brought to the level the transport computes at the end of every critical section that may change it
/// (`VirtioTransportCore.withState`).
///
/// Changing the line in the same critical section as the state that drives it is what makes edge-triggered
/// lines safe. With the level read and the line changed under separate locks, a driver's acknowledgement
/// and a device thread's new interrupt could pass each other: the device saw the line still marked high and
/// sent nothing, the acknowledgement then lowered the state, and the new cause stayed pending with no edge
/// ever reaching the guest (a receive queue that stopped for good under sustained traffic).
///
/// `line` is called only on changes (and for fresh edges), initially low, with the transport's lock held:
/// it must be quick and must not call back into the transport (an irqfd write or KVM_IRQ_LINE).
struct LatchedInterruptLine: Sendable {
    private let line: @Sendable (Bool) -> Void
    /// The level last given to `line`.
    private(set) var level = false
    private var wantsFreshEdge = false

    init(_ line: @escaping @Sendable (Bool) -> Void) {
        self.line = line
    }

    /// Asks the next `settle` to raise the line again even if it stays high: a cause raised while the
    /// driver acknowledged another needs an edge of its own, or an edge-triggered pin never reports it.
    mutating func requestFreshEdge() {
        wantsFreshEdge = true
    }

    /// Brings the line to `newLevel`.
    mutating func settle(to newLevel: Bool) {
        defer { wantsFreshEdge = false }
        if newLevel, wantsFreshEdge {
            if level { line(false) }
            line(true)
            level = true
            return
        }
        guard newLevel != level else { return }
        level = newLevel
        line(newLevel)
    }
}
