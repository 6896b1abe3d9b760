import GuestMemory
import Testing

@testable import Virtio

@Suite("Notification suppression (§2.7.7, §2.7.10)")
struct NotificationSuppressionTests {
    let memory: GuestMemory
    let driver: TestDriver

    init() throws {
        memory = try GuestMemory(size: 2 << 20)
        driver = TestDriver(memory: memory)
    }

    @Test(
        "vring_need_event: an event fires when the index moves past event_idx, in wrapping 16-bit math",
        arguments: [
            // (event, new, old, expected)
            (0, 1, 0, true),  // moved 0 → 1, crossing event 0
            (1, 1, 0, false),  // event 1 not yet passed (needs new > 1)
            (1, 2, 0, true),
            (5, 3, 0, false),
            (5, 6, 5, true),
            (5, 5, 5, false),  // nothing moved
            (0xFFFF, 0, 0xFFFF, true),  // wrap: moved 0xFFFF → 0, crossing 0xFFFF
            (0xFFFE, 1, 0xFFFD, true),  // batch across the wrap includes the event
            (2, 1, 0xFFFD, false),  // batch across the wrap stops before the event
            (0xFFFF, 0x10, 0x0F, false),  // event far behind: not crossed by this batch
        ] as [(UInt16, UInt16, UInt16, Bool)])
    func needsEvent(event: UInt16, new: UInt16, old: UInt16, expected: Bool) {
        #expect(SplitVirtqueue.needsEvent(eventIndex: event, newIndex: new, oldIndex: old) == expected)
    }

    @Test("without EVENT_IDX, VIRTQ_AVAIL_F_NO_INTERRUPT suppresses the interrupt")
    func noInterruptFlag() throws {
        var queue = driver.queue()
        #expect(try queue.shouldInterrupt(memory: memory) == false)  // nothing used yet
        try queue.addUsed(head: 0, length: 0, memory: memory)
        #expect(try queue.shouldInterrupt(memory: memory) == true)
        try driver.setAvailableFlags(1)
        try queue.addUsed(head: 0, length: 0, memory: memory)
        #expect(try queue.shouldInterrupt(memory: memory) == false)
        try driver.setAvailableFlags(0)
        #expect(try queue.shouldInterrupt(memory: memory) == false)  // nothing new since
    }

    @Test("with EVENT_IDX, used_event decides and the flag is ignored")
    func usedEvent() throws {
        var queue = driver.queue(eventIndex: true)
        try driver.setAvailableFlags(1)
        try driver.setUsedEvent(1)  // interrupt when used->idx passes 1, i.e. reaches 2
        try queue.addUsed(head: 0, length: 0, memory: memory)
        #expect(try queue.shouldInterrupt(memory: memory) == false)
        try queue.addUsed(head: 0, length: 0, memory: memory)
        #expect(try queue.shouldInterrupt(memory: memory) == true)
        try queue.addUsed(head: 0, length: 0, memory: memory)
        #expect(try queue.shouldInterrupt(memory: memory) == false)  // event 1 already passed
    }

    @Test("with EVENT_IDX, used_event is honored across the 16-bit wrap")
    func usedEventAcrossWrap() throws {
        var queue = try SplitVirtqueueTests.queue(
            driver.queue(eventIndex: true), consumedTo: 0xFFFE, memory: memory, driver: driver)
        _ = try queue.shouldInterrupt(memory: memory)  // settle the signalled index at 0xFFFE
        try driver.setUsedEvent(0)  // fire when used->idx goes past 0, i.e. at 1
        try queue.addUsed(head: 0, length: 0, memory: memory)  // 0xFFFF
        try queue.addUsed(head: 0, length: 0, memory: memory)  // 0
        #expect(try queue.shouldInterrupt(memory: memory) == false)
        try queue.addUsed(head: 0, length: 0, memory: memory)  // 1
        #expect(try queue.shouldInterrupt(memory: memory) == true)
    }

    @Test("suppressing notifications sets VIRTQ_USED_F_NO_NOTIFY; resuming clears it")
    func usedFlag() throws {
        let queue = driver.queue()
        try queue.setNotificationSuppression(true, memory: memory)
        #expect(try driver.usedFlags() == 1)
        try queue.setNotificationSuppression(false, memory: memory)
        #expect(try driver.usedFlags() == 0)
    }

    @Test("with EVENT_IDX, resuming notifications writes avail_event = next available index")
    func availableEvent() throws {
        try driver.writeChain([TestBuffer(address: GuestAddress(0x40000), length: 1, writable: true)])
        try driver.makeAvailable(0)
        try driver.makeAvailable(0)
        var queue = driver.queue(eventIndex: true)
        _ = try queue.popAvailable(memory: memory)
        _ = try queue.popAvailable(memory: memory)
        try queue.setNotificationSuppression(false, memory: memory)
        #expect(try driver.availableEvent() == 2)
        #expect(try driver.usedFlags() == 0)
        #expect(try queue.hasAvailable(memory: memory) == false)
        try driver.makeAvailable(0)
        #expect(try queue.hasAvailable(memory: memory) == true)
    }
}
