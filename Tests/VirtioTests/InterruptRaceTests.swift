import Foundation
import GuestMemory
import Synchronization
import Testing

@testable import Virtio

/// An edge-triggered interrupt pin as the guest's IOAPIC sees it: rising edges while one is pending
/// coalesce into that one, as in a LAPIC's IRR.
final class EdgeTriggeredPin: Sendable {
    private let pending = Atomic<Bool>(false)

    var line: @Sendable (Bool) -> Void {
        { [self] level in if level { pending.store(true, ordering: .sequentiallyConsistent) } }
    }

    /// Takes the pending edge, if there is one.
    func takeEdge() -> Bool {
        pending.exchange(false, ordering: .sequentiallyConsistent)
    }
}

@Suite("Interrupts raised by device threads race the driver's acknowledgements")
struct InterruptRaceTests {
    static let raises = 20_000

    /// The driver handles each edge as Linux's vm_interrupt does (read InterruptStatus, acknowledge it)
    /// while a device thread keeps raising used-buffer interrupts. Every cause must be seen by a handler:
    /// when both stop, InterruptStatus is 0. A cause raised as an acknowledgement went by must still get
    /// an edge of its own, or the driver would never look again (a receive queue stalled for good).
    @Test("virtio-mmio: no cause is left pending without an edge")
    func mmioNeverStrandsACause() async throws {
        let memory = try GuestMemory(size: 2 << 20)
        let rings = TestDriver(memory: memory, size: 16)
        let device = FakeDevice()
        let pin = EdgeTriggeredPin()
        let transport = VirtioMMIOTransport(device: device, memory: memory, interruptLine: pin.line)
        let mmio = MMIODriver(transport: transport)
        #expect(mmio.negotiate(features: VirtioFeature.version1 | VirtioFeature.eventIndex))
        mmio.setUpQueue(0, size: 16, rings: rings)
        mmio.driverOK()
        let interrupt = try #require(device.log.interrupt)

        let finished = Atomic<Bool>(false)
        let raiser = Thread {
            for _ in 0..<Self.raises { interrupt.usedBuffers(queue: 0) }
            finished.store(true, ordering: .sequentiallyConsistent)
        }
        raiser.start()
        var handled = 0
        while !finished.load(ordering: .sequentiallyConsistent) {
            if pin.takeEdge() {
                _ = mmio.acknowledgeInterrupts()
                handled += 1
            }
        }
        while pin.takeEdge() {
            _ = mmio.acknowledgeInterrupts()
            handled += 1
        }
        #expect(handled > 0)
        #expect(mmio.read(VirtioMMIORegister.interruptStatus) == 0, "a cause is pending with no edge to report it")
    }
}
