import GuestMemory
import Testing

@testable import Virtio

@Suite("virtio-rng (§5.4)")
struct VirtioRNGTests {
    /// An entropy device behind a virtio-mmio transport with its queue brought up.
    final class Harness {
        let memory: GuestMemory
        let device = VirtioRNG()
        let interrupts = InterruptRecorder()
        let transport: VirtioMMIOTransport
        let mmio: MMIODriver
        let rings: TestDriver

        init() throws {
            memory = try GuestMemory(size: 4 << 20)
            transport = VirtioMMIOTransport(device: device, memory: memory, interruptLine: interrupts.line)
            mmio = MMIODriver(transport: transport)
            rings = TestDriver(memory: memory, size: 16)
            mmio.negotiate(features: device.deviceFeatures)
            mmio.setUpQueue(0, size: 16, rings: rings)
            mmio.driverOK()
        }

        /// Submits one chain of `buffers` (pre-filled with zeroes) at descriptor `first`, notifies, and
        /// returns the used length and the buffers' contents.
        func request(_ buffers: [(length: Int, writable: Bool)], first: UInt16 = 0) throws -> (UInt32, [[UInt8]]) {
            let placed = try buffers.map {
                TestBuffer(
                    address: try rings.buffer([UInt8](repeating: 0, count: $0.length)), length: UInt32($0.length),
                    writable: $0.writable)
            }
            try rings.writeChain(placed, first: first)
            let before = try rings.usedIndex()
            try rings.makeAvailable(first)
            mmio.write(VirtioMMIORegister.queueNotify, 0)
            guard try rings.usedIndex() == before &+ 1 else { return (UInt32.max, []) }
            let contents = try placed.map { try memory.read(at: $0.address, length: Int($0.length)) }
            return (try rings.usedElement(before).length, contents)
        }
    }

    @Test("device ID 4, one queue, no configuration space")
    func identity() throws {
        let harness = try Harness()
        #expect(harness.mmio.read(VirtioMMIORegister.deviceID) == 4)
        #expect(harness.device.queueCount == 1)
        #expect(
            harness.device.deviceFeatures == VirtioFeature.version1 | VirtioFeature.eventIndex
                | VirtioFeature.indirectDescriptors)
        #expect(harness.transport.read(offset: 0x100, size: 4) == 0)
        #expect(harness.mmio.status == 0b1111)
    }

    @Test("a writable buffer is filled with random bytes; used length is its size; two requests differ")
    func fills() throws {
        let harness = try Harness()
        let (length, contents) = try harness.request([(64, true)])
        #expect(length == 64)
        let (again, second) = try harness.request([(64, true)], first: 1)
        #expect(again == 64)
        #expect(contents[0] != second[0])
        #expect(Set(contents[0]).count > 8)
        #expect(harness.interrupts.level)
    }

    @Test("a chain of several writable buffers is filled across all of them")
    func scattered() throws {
        let harness = try Harness()
        let (length, contents) = try harness.request([(3, true), (100, true), (29, true)])
        #expect(length == 132)
        #expect(Set(contents.joined()).count > 16)
    }

    @Test("at most 64 KiB is filled per request")
    func capped() throws {
        let harness = try Harness()
        let (length, contents) = try harness.request([(VirtioRNG.maximumBytesPerRequest + 4096, true)])
        #expect(length == UInt32(VirtioRNG.maximumBytesPerRequest))
        #expect(contents[0].suffix(4096) == [UInt8](repeating: 0, count: 4096)[...])
    }

    @Test("readable buffers are left alone; a chain without writable bytes is returned with used length 0")
    func wrongDirection() throws {
        let harness = try Harness()
        let (empty, untouched) = try harness.request([(32, false)])
        #expect(empty == 0)
        #expect(untouched[0] == [UInt8](repeating: 0, count: 32))
        let (length, contents) = try harness.request([(16, false), (16, true)], first: 2)
        #expect(length == 16)
        #expect(contents[0] == [UInt8](repeating: 0, count: 16))
        #expect(harness.mmio.status & VirtioDeviceStatus.deviceNeedsReset == 0)
    }

    @Test("a looping chain breaks the queue without a crash")
    func loop() throws {
        let harness = try Harness()
        try harness.rings.setDescriptor(
            0, address: 0x40000, length: 16, flags: DescriptorFlag.write | DescriptorFlag.next, next: 0)
        try harness.rings.makeAvailable(0)
        harness.mmio.write(VirtioMMIORegister.queueNotify, 0)
        #expect(harness.transport.queueError == .chainTooLong(limit: 16))
    }

    @Test("the host entropy source fills a buffer completely")
    func hostEntropy() {
        var bytes = [UInt8](repeating: 0, count: 100_000)
        let filled = bytes.withUnsafeMutableBytes { HostEntropy.fill($0) }
        #expect(filled == 100_000)
        #expect(Set(bytes).count == 256)
    }
}
