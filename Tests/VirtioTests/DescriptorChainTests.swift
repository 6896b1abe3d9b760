import GuestMemory
import Testing

@testable import Virtio

@Suite("Descriptor chain copies")
struct DescriptorChainTests {
    let memory: GuestMemory
    let chain: DescriptorChain

    /// Readable: 3 bytes at 0x1000, 5 at 0x2000; writable: 4 at 0x3000, 2 at 0x4000.
    init() throws {
        memory = try GuestMemory(size: 1 << 20)
        try memory.write([1, 2, 3], at: GuestAddress(0x1000))
        try memory.write([4, 5, 6, 7, 8], at: GuestAddress(0x2000))
        chain = DescriptorChain(
            headIndex: 9,
            segments: [
                DescriptorSegment(address: GuestAddress(0x1000), length: 3, isWritable: false),
                DescriptorSegment(address: GuestAddress(0x2000), length: 5, isWritable: false),
                DescriptorSegment(address: GuestAddress(0x3000), length: 4, isWritable: true),
                DescriptorSegment(address: GuestAddress(0x4000), length: 2, isWritable: true),
            ])
    }

    @Test("lengths count readable and writable bytes separately")
    func lengths() {
        #expect(chain.readableLength == 8)
        #expect(chain.writableLength == 6)
    }

    @Test("reads span readable segments from any offset")
    func reads() throws {
        #expect(try chain.readBytes(count: 8, memory: memory) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(try chain.readBytes(count: 3, from: 2, memory: memory) == [3, 4, 5])
        #expect(try chain.readBytes(count: 0, from: 8, memory: memory) == [])
    }

    @Test("writes span writable segments and never touch readable ones")
    func writes() throws {
        try chain.write([0xA, 0xB, 0xC], at: 3, memory: memory)
        #expect(try memory.read(at: GuestAddress(0x3003), length: 1) == [0xA])
        #expect(try memory.read(at: GuestAddress(0x4000), length: 2) == [0xB, 0xC])
        #expect(try memory.read(at: GuestAddress(0x1000), length: 3) == [1, 2, 3])
    }

    @Test("copies past the end, or with offsets that overflow, throw")
    func bounds() throws {
        #expect(throws: DescriptorChainError.outOfBounds(offset: 6, length: 3, available: 8, writable: false)) {
            try chain.readBytes(count: 3, from: 6, memory: memory)
        }
        #expect(throws: DescriptorChainError.outOfBounds(offset: 5, length: 2, available: 6, writable: true)) {
            try chain.write([1, 2], at: 5, memory: memory)
        }
        #expect(throws: DescriptorChainError.self) {
            try chain.write([1], at: UInt64.max, memory: memory)
        }
        #expect(throws: DescriptorChainError.self) {
            try chain.readBytes(count: -1, memory: memory)
        }
    }

    @Test("withBuffers hands out one piece per segment part, in order")
    func pieces() throws {
        var counts: [Int] = []
        try chain.withBuffers(writable: false, offset: 1, length: 6, memory: memory) { counts.append($0.count) }
        #expect(counts == [2, 4])
    }
}
