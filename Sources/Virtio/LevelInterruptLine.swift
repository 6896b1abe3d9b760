import Synchronization

/// A level-triggered interrupt line (virtio-mmio's, virtio-pci's INTx) kept in step with the level a
/// transport computes from its state.
///
/// The level is read under this object's lock, so two threads that changed the state in one order reach
/// the line in that order (see Serial16550). `line` is called only on changes, initially low; it must not
/// call back into the transport.
final class LevelInterruptLine: Sendable {
    private let line: @Sendable (Bool) -> Void
    /// The level last passed to `line`.
    private let delivered = Mutex(false)

    init(_ line: @escaping @Sendable (Bool) -> Void) {
        self.line = line
    }

    /// Brings the line to `level()`.
    func update(to level: () -> Bool) {
        delivered.withLock { delivered in
            let current = level()
            guard current != delivered else { return }
            delivered = current
            line(current)
        }
    }

    /// Drops and raises the line again while `level()` stays high: a cause raised while the driver
    /// acknowledged another needs a fresh edge, or an edge-triggered pin would never report it.
    func pulse(while level: () -> Bool) {
        delivered.withLock { delivered in
            guard level() else { return }
            if delivered { line(false) }
            line(true)
            delivered = true
        }
    }
}
