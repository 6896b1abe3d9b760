import Foundation
import GuestMemory
import Synchronization
import Testing

@testable import Virtio

/// Collects what a console device outputs.
final class OutputRecorder: Sendable {
    private let bytes = Mutex<[UInt8]>([])

    var received: [UInt8] { bytes.withLock { $0 } }

    var sink: @Sendable ([UInt8]) -> Void {
        { [self] chunk in bytes.withLock { $0 += chunk } }
    }
}

/// A virtio-console device behind a virtio-mmio transport, its input one end of a socket pair.
final class ConsoleHarness {
    let memory: GuestMemory
    let output = OutputRecorder()
    let interrupts = InterruptRecorder()
    let inputPeer: HostTestSocket
    let inputEnd: HostTestSocket
    let device: VirtioConsole
    let transport: VirtioMMIOTransport
    let mmio: MMIODriver
    let receive: OffsetRingDriver
    let transmit: OffsetRingDriver
    private var nextReceiveHead: UInt16 = 0

    init(features: UInt64 = VirtioFeature.version1) throws {
        memory = try GuestMemory(size: 4 << 20)
        (inputEnd, inputPeer) = try HostTestSocket.pair()
        device = try VirtioConsole(memory: memory, input: inputEnd.descriptor, output: output.sink)
        transport = VirtioMMIOTransport(device: device, memory: memory, interruptLine: interrupts.line)
        mmio = MMIODriver(transport: transport)
        receive = OffsetRingDriver(memory: memory, base: 0x10_0000, size: 16)
        transmit = OffsetRingDriver(memory: memory, base: 0x20_0000, size: 16)
        mmio.negotiate(features: features)
        receive.setUp(queue: 0, on: mmio)
        transmit.setUp(queue: 1, on: mmio)
        mmio.driverOK()
    }

    deinit {
        device.stop()
        inputEnd.close()
        inputPeer.close()
    }

    /// Posts one receive buffer of `length` bytes and notifies; returns its address.
    @discardableResult
    func postReceiveBuffer(length: Int = 64) throws -> GuestAddress {
        let buffer = receive.allocate(length)
        let head = nextReceiveHead
        nextReceiveHead += 1
        try receive.setDescriptor(head, address: buffer, length: UInt32(length), flags: DescriptorFlag.write)
        try receive.makeAvailable(head)
        transport.notifyQueue(0)
        return buffer
    }

    /// Puts `pieces` on the transmit queue as one chain and notifies.
    func transmit(_ pieces: [[UInt8]]) throws {
        let first = UInt16(transmit.availableIndex % transmit.size)
        for (offset, piece) in pieces.enumerated() {
            let buffer = transmit.allocate(piece.count)
            try memory.write(piece, at: buffer)
            let index = first + UInt16(offset)
            let last = offset == pieces.count - 1
            try transmit.setDescriptor(
                index, address: buffer, length: UInt32(piece.count), flags: last ? 0 : DescriptorFlag.next,
                next: last ? 0 : index + 1)
        }
        try transmit.makeAvailable(first)
        transport.notifyQueue(1)
    }
}

@Suite("virtio-console, one port (§5.3)")
struct VirtioConsoleTests {
    @Test("device ID 3, two queues, no optional features, config reads 0")
    func configuration() throws {
        let harness = try ConsoleHarness()
        #expect(harness.device.deviceID == 3)
        #expect(harness.device.queueCount == 2)
        #expect(harness.device.deviceFeatures == VirtioFeature.version1 | VirtioFeature.eventIndex)
        #expect(harness.transport.read(offset: 0x100, size: 4) == 0)
        #expect(harness.transport.read(offset: 0x104, size: 4) == 0)
    }

    @Test("bytes on transmitq0 reach the output in order; chains are returned with length 0")
    func transmit() throws {
        let harness = try ConsoleHarness()
        try harness.transmit([Array("hello ".utf8), Array("hvc0".utf8)])
        try harness.transmit([Array("\n".utf8)])
        #expect(harness.output.received == Array("hello hvc0\n".utf8))
        let used = try harness.transmit.takeUsed()
        #expect(used.map(\.id) == [0, 1])
        #expect(used.map(\.length) == [0, 0])
        #expect(harness.interrupts.level)
    }

    @Test("bytes written to the input fd reach a receive buffer and the interrupt fires")
    func receive() throws {
        let harness = try ConsoleHarness()
        let buffer = try harness.postReceiveBuffer()
        harness.mmio.acknowledgeInterrupts()
        #expect(!harness.interrupts.level)
        try harness.inputPeer.write("abc")
        #expect(try TestWait.until { try harness.receive.usedIndex() == 1 })
        let used = try harness.receive.takeUsed()
        #expect(used.first?.length == 3)
        #expect(try harness.memory.read(at: buffer, length: 3) == Array("abc".utf8))
        #expect(TestWait.until { harness.interrupts.level })
    }

    @Test("input waits in the host fd while the guest has no receive buffer")
    func receiveWaitsForBuffers() throws {
        let harness = try ConsoleHarness(features: VirtioFeature.version1 | VirtioFeature.eventIndex)
        try harness.inputPeer.write("xyz")
        usleep(50_000)
        #expect(try harness.receive.usedIndex() == 0)
        let buffer = try harness.postReceiveBuffer()
        #expect(try TestWait.until { try harness.receive.usedIndex() == 1 })
        #expect(try harness.memory.read(at: buffer, length: 3) == Array("xyz".utf8))
        // More input than one buffer holds continues in the next buffer.
        try harness.inputPeer.write("0123456789")
        usleep(20_000)
        let small = try harness.postReceiveBuffer(length: 4)
        let rest = try harness.postReceiveBuffer(length: 16)
        #expect(try TestWait.until { try harness.receive.usedIndex() == 3 })
        #expect(try harness.memory.read(at: small, length: 4) == Array("0123".utf8))
        #expect(try harness.memory.read(at: rest, length: 6) == Array("456789".utf8))
    }

    @Test("a receive chain without writable bytes is returned empty; input goes to the next buffer")
    func unwritableReceiveChain() throws {
        let harness = try ConsoleHarness()
        let readOnly = harness.receive.allocate(16)
        try harness.receive.setDescriptor(0, address: readOnly, length: 16)
        try harness.receive.makeAvailable(0)
        harness.transport.notifyQueue(0)
        try harness.inputPeer.write("q")
        #expect(try TestWait.until { try harness.receive.usedIndex() == 1 })
        #expect(try harness.receive.takeUsed().first?.length == 0)
        let buffer = harness.receive.allocate(16)
        try harness.receive.setDescriptor(1, address: buffer, length: 16, flags: DescriptorFlag.write)
        try harness.receive.makeAvailable(1)
        harness.transport.notifyQueue(0)
        #expect(try TestWait.until { try harness.receive.usedIndex() == 2 })
        #expect(try harness.memory.read(at: buffer, length: 1) == Array("q".utf8))
    }

    @Test("end of input ends input only; output still works; reset and stop do not hang")
    func endOfInputAndReset() throws {
        let harness = try ConsoleHarness()
        try harness.postReceiveBuffer()
        harness.inputPeer.shutdown()
        usleep(20_000)
        #expect(try harness.receive.usedIndex() == 0)
        try harness.transmit([Array("still here".utf8)])
        #expect(harness.output.received == Array("still here".utf8))
        let transport = harness.transport
        #expect(TestWait.finishes { transport.write(offset: VirtioMMIORegister.status, size: 4, value: 0) })
        #expect(harness.mmio.status == 0)
        let device = harness.device
        #expect(TestWait.finishes { device.stop() })
    }

    @Test("a console without input only transmits")
    func withoutInput() throws {
        let memory = try GuestMemory(size: 1 << 20)
        let output = OutputRecorder()
        let device = try VirtioConsole(memory: memory, input: nil, output: output.sink)
        #expect(TestWait.finishes { device.stop() })
    }
}
