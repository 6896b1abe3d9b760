/// The part of a transport's state that only it has (virtio-mmio's InterruptStatus; virtio-pci's ISR,
/// MSI-X and configuration header), kept in `VirtioTransportState` under the same lock as the rest.
protocol VirtioTransportSpecificState: Sendable {
    /// What raising an interrupt asks the transport to do once the lock is released.
    associatedtype Delivery: Sendable

    /// The driver reset the device (status 0, §2.4): forget what belonged to the device's lifecycle.
    mutating func deviceReset()

    /// Records an interrupt cause; returns what to deliver once the lock is released (an MSI-X message),
    /// or nil when nothing more is needed (a line follows the state through `settleInterruptLine`).
    mutating func raise(_ cause: VirtioInterruptCause) -> Delivery?

    /// Brings the transport's interrupt line, if it has one, to the level the state now asks for. Called
    /// at the end of every critical section (`VirtioTransportCore.withState`).
    mutating func settleInterruptLine()
}
