import GuestMemory
import Testing

@testable import Virtio

@Suite("Split virtqueue: chain walking and the used ring")
struct SplitVirtqueueTests {
    let memory: GuestMemory
    let driver: TestDriver

    init() throws {
        memory = try GuestMemory(size: 2 << 20)
        driver = TestDriver(memory: memory)
    }

    @Test("a readable-then-writable chain is returned with its segments, lengths and head")
    func normalChain() throws {
        let header = driver.allocate(16)
        let data = driver.allocate(512)
        let status = driver.allocate(1)
        try driver.writeChain(
            [
                TestBuffer(address: header, length: 16, writable: false),
                TestBuffer(address: data, length: 512, writable: true),
                TestBuffer(address: status, length: 1, writable: true),
            ], first: 3)
        try driver.makeAvailable(3)
        var queue = driver.queue()

        let chain = try #require(try queue.popAvailable(memory: memory))
        #expect(chain.headIndex == 3)
        #expect(
            chain.segments == [
                DescriptorSegment(address: header, length: 16, isWritable: false),
                DescriptorSegment(address: data, length: 512, isWritable: true),
                DescriptorSegment(address: status, length: 1, isWritable: true),
            ])
        #expect(chain.readableLength == 16)
        #expect(chain.writableLength == 513)
        #expect(queue.nextAvailableIndex == 1)
        #expect(try queue.popAvailable(memory: memory) == nil)
    }

    @Test("an indirect table is followed, its WRITE flag on the table descriptor ignored")
    func indirectChain() throws {
        let table = driver.allocate(3 * 16)
        let a = driver.allocate(8)
        let b = driver.allocate(8)
        let c = driver.allocate(8)
        try driver.writeChain(
            [
                TestBuffer(address: a, length: 8, writable: false),
                TestBuffer(address: b, length: 8, writable: true),
                TestBuffer(address: c, length: 8, writable: true),
            ], table: table)
        try driver.setDescriptor(
            5, address: table.rawValue, length: 48, flags: DescriptorFlag.indirect | DescriptorFlag.write)
        try driver.makeAvailable(5)
        var queue = driver.queue()

        let chain = try #require(try queue.popAvailable(memory: memory))
        #expect(chain.headIndex == 5)
        #expect(chain.segments.map(\.address) == [a, b, c])
        #expect(chain.segments.map(\.isWritable) == [false, true, true])
    }

    @Test("a direct descriptor may precede the indirect table")
    func directThenIndirect() throws {
        let table = driver.allocate(16)
        let header = driver.allocate(16)
        let data = driver.allocate(16)
        try driver.writeChain([TestBuffer(address: data, length: 16, writable: true)], table: table)
        try driver.setDescriptor(0, address: header.rawValue, length: 16, flags: DescriptorFlag.next, next: 1)
        try driver.setDescriptor(1, address: table.rawValue, length: 16, flags: DescriptorFlag.indirect)
        try driver.makeAvailable(0)
        var queue = driver.queue()

        let chain = try #require(try queue.popAvailable(memory: memory))
        #expect(chain.segments.map(\.address) == [header, data])
    }

    /// Pops the head made available and expects `error`.
    private func expectRejected(head: UInt16 = 0, _ error: VirtqueueError) throws {
        try driver.makeAvailable(head)
        var queue = driver.queue()
        #expect(throws: error) { try queue.popAvailable(memory: memory) }
    }

    @Test("a chain whose next points back is a loop, stopped after queue-size descriptors")
    func loopingChain() throws {
        let buffer = driver.allocate(8)
        try driver.setDescriptor(0, address: buffer.rawValue, length: 8, flags: DescriptorFlag.next, next: 1)
        try driver.setDescriptor(1, address: buffer.rawValue, length: 8, flags: DescriptorFlag.next, next: 0)
        try expectRejected(.chainTooLong(limit: 16))
    }

    @Test("a descriptor that points at itself is a loop")
    func selfLoop() throws {
        try driver.setDescriptor(7, address: 0x40000, length: 8, flags: DescriptorFlag.next, next: 7)
        try expectRejected(head: 7, .chainTooLong(limit: 16))
    }

    @Test("a chain exactly as long as the queue is accepted")
    func fullLengthChain() throws {
        let buffer = driver.allocate(4)
        try driver.writeChain(Array(repeating: TestBuffer(address: buffer, length: 4, writable: false), count: 16))
        try driver.makeAvailable(0)
        var queue = driver.queue()
        let chain = try #require(try queue.popAvailable(memory: memory))
        #expect(chain.segments.count == 16)
        #expect(chain.readableLength == 64)
    }

    @Test("a looping indirect table is stopped after its entry count")
    func loopingIndirect() throws {
        let table = driver.allocate(64)
        for index in UInt16(0)..<4 {
            try driver.setDescriptor(
                index, address: 0x40000, length: 4, flags: DescriptorFlag.next, next: (index + 1) % 4, table: table)
        }
        try driver.setDescriptor(0, address: table.rawValue, length: 64, flags: DescriptorFlag.indirect)
        try expectRejected(.chainTooLong(limit: 4))
    }

    @Test("a buffer past the end of RAM is rejected")
    func bufferPastEndOfRAM() throws {
        try driver.setDescriptor(0, address: (2 << 20) - 8, length: 16)
        try expectRejected(.bufferOutOfRange(address: GuestAddress((2 << 20) - 8), length: 16))
    }

    @Test("a buffer whose end overflows 64 bits is rejected")
    func bufferEndOverflows() throws {
        try driver.setDescriptor(0, address: UInt64.max - 0xFFF, length: 0x2000)
        try expectRejected(.bufferOutOfRange(address: GuestAddress(UInt64.max - 0xFFF), length: 0x2000))
    }

    @Test("buffers adding up to more than 4 GiB are rejected")
    func chainLongerThan4GiB() throws {
        // 2 GiB of NORESERVE RAM: nothing is touched but the rings.
        let memory = try GuestMemory(size: 2 << 30)
        let driver = TestDriver(memory: memory)
        let huge = TestBuffer(address: GuestAddress(1 << 20), length: 0x7000_0000, writable: false)
        try driver.writeChain([huge, huge, huge])
        try driver.makeAvailable(0)
        var queue = driver.queue()
        #expect(throws: VirtqueueError.chainLengthTooLarge) { try queue.popAvailable(memory: memory) }
    }

    @Test("a readable descriptor after a writable one is rejected (§2.7.4.2)")
    func readableAfterWritable() throws {
        let buffer = driver.allocate(16)
        try driver.writeChain([
            TestBuffer(address: buffer, length: 8, writable: true),
            TestBuffer(address: buffer, length: 8, writable: false),
        ])
        try expectRejected(.readableAfterWritable)
    }

    @Test("an indirect descriptor inside an indirect table is rejected")
    func nestedIndirect() throws {
        let outer = driver.allocate(16)
        let inner = driver.allocate(16)
        try driver.setDescriptor(0, address: 0x40000, length: 8, table: inner)
        try driver.setDescriptor(0, address: inner.rawValue, length: 16, flags: DescriptorFlag.indirect, table: outer)
        try driver.setDescriptor(0, address: outer.rawValue, length: 16, flags: DescriptorFlag.indirect)
        try expectRejected(.nestedIndirectTable)
    }

    @Test("indirect tables of a bad length are rejected", arguments: [0, 8, 17, 40, 32769 * 16] as [UInt32])
    func indirectBadLength(length: UInt32) throws {
        try driver.setDescriptor(0, address: 0x40000, length: length, flags: DescriptorFlag.indirect)
        try expectRejected(.invalidIndirectTableLength(length))
    }

    @Test("an indirect table outside RAM is rejected")
    func indirectOutsideRAM() throws {
        try driver.setDescriptor(0, address: 0x1_0000_0000, length: 64, flags: DescriptorFlag.indirect)
        try expectRejected(.bufferOutOfRange(address: GuestAddress(0x1_0000_0000), length: 64))
    }

    @Test("INDIRECT together with NEXT is rejected")
    func indirectWithNext() throws {
        let table = driver.allocate(16)
        try driver.setDescriptor(
            0, address: table.rawValue, length: 16, flags: DescriptorFlag.indirect | DescriptorFlag.next, next: 1)
        try expectRejected(.indirectWithNext)
    }

    @Test("a next index past the descriptor table is rejected")
    func nextOutOfRange() throws {
        try driver.setDescriptor(0, address: 0x40000, length: 8, flags: DescriptorFlag.next, next: 16)
        try expectRejected(.descriptorIndexOutOfRange(index: 16, tableSize: 16))
    }

    @Test("a next index past an indirect table is rejected")
    func indirectNextOutOfRange() throws {
        let table = driver.allocate(32)
        try driver.setDescriptor(0, address: 0x40000, length: 8, flags: DescriptorFlag.next, next: 2, table: table)
        try driver.setDescriptor(1, address: table.rawValue, length: 32, flags: DescriptorFlag.indirect)
        try expectRejected(head: 1, .descriptorIndexOutOfRange(index: 2, tableSize: 2))
    }

    @Test("a head index past the table is rejected")
    func headOutOfRange() throws {
        try expectRejected(head: 16, .descriptorIndexOutOfRange(index: 16, tableSize: 16))
    }

    @Test("avail->idx more than queue-size entries ahead is rejected")
    func availableIndexTooFar() throws {
        try driver.setAvailableIndex(17)
        var queue = driver.queue()
        #expect(throws: VirtqueueError.availableIndexTooFar(availableIndex: 17, nextAvailable: 0, size: 16)) {
            try queue.popAvailable(memory: memory)
        }
    }

    @Test("invalid queue sizes are refused", arguments: [0, 3, 24, 40000] as [UInt16])
    func invalidSize(size: UInt16) {
        var queue = driver.queue()
        queue.size = size
        #expect(throws: VirtqueueError.invalidQueueSize(size)) { try queue.popAvailable(memory: memory) }
        #expect(throws: VirtqueueError.invalidQueueSize(size)) { try queue.validate(memory: memory) }
    }

    @Test("validate checks alignment and that the rings lie in RAM")
    func validate() throws {
        try driver.queue().validate(memory: memory)
        var misaligned = driver.queue()
        misaligned.deviceRing = GuestAddress(0x30002)
        #expect(throws: VirtqueueError.invalidRingAddress(part: "device ring", address: GuestAddress(0x30002))) {
            try misaligned.validate(memory: memory)
        }
        var outside = driver.queue()
        outside.descriptorTable = GuestAddress((2 << 20) - 16)
        #expect(throws: VirtqueueError.self) { try outside.validate(memory: memory) }
    }

    @Test("addUsed writes the element, then used->idx, wrapping the ring slot")
    func addUsed() throws {
        var queue = driver.queue()
        for round in 0..<20 {
            try queue.addUsed(head: UInt16(round % 16), length: UInt32(100 + round), memory: memory)
            #expect(try driver.usedIndex() == UInt16(round + 1))
            let element = try driver.usedElement(UInt16(round))
            #expect(element.id == UInt32(round % 16))
            #expect(element.length == UInt32(100 + round))
        }
        #expect(throws: VirtqueueError.usedHeadOutOfRange(head: 16, size: 16)) {
            try queue.addUsed(head: 16, length: 0, memory: memory)
        }
    }

    @Test("indices wrap at 2^16 on both rings")
    func indexWrap() throws {
        let buffer = driver.allocate(8)
        try driver.writeChain([TestBuffer(address: buffer, length: 8, writable: true)])
        // Bring the device to index 0xFFFF the way a long-running one gets there.
        var queue = try Self.queue(driver.queue(), consumedTo: 0xFFFF, memory: memory, driver: driver)
        #expect(try driver.usedIndex() == 0xFFFF)
        try driver.makeAvailable(0)  // avail->idx 0xFFFF → 0
        try driver.makeAvailable(0)
        #expect(try queue.popAvailable(memory: memory)?.headIndex == 0)
        #expect(try queue.popAvailable(memory: memory)?.headIndex == 0)
        #expect(queue.nextAvailableIndex == 1)
        #expect(try queue.popAvailable(memory: memory) == nil)
        try queue.addUsed(head: 0, length: 1, memory: memory)
        try queue.addUsed(head: 0, length: 2, memory: memory)
        #expect(try driver.usedIndex() == 1)
        #expect(try driver.usedElement(0xFFFF).length == 1)
        #expect(try driver.usedElement(0).length == 2)
    }

    /// Advances a fresh queue's next-available (and used) index to `index` by popping and completing
    /// chains in batches of 16, the way a long-running device would.
    static func queue(
        _ queue: SplitVirtqueue, consumedTo index: UInt16, memory: GuestMemory, driver: TestDriver
    ) throws -> SplitVirtqueue {
        var queue = queue
        try driver.setAvailableIndex(0)
        while queue.nextAvailableIndex != index {
            let batch = min(16, Int(index &- queue.nextAvailableIndex))
            for _ in 0..<batch { try driver.makeAvailable(0) }
            for _ in 0..<batch {
                let chain = try #require(try queue.popAvailable(memory: memory))
                try queue.addUsed(head: chain.headIndex, length: 0, memory: memory)
            }
        }
        return queue
    }
}
