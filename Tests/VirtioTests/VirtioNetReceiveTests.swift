import Foundation
import GuestMemory
import Synchronization
import Testing

@testable import Virtio

@Suite("virtio-net reception on the device's own thread (§5.1.6.3–5.1.6.4)")
struct VirtioNetReceiveTests {
    static let header = NetHarness.header

    @Test("a frame lands in one buffer with its header and num_buffers 1; the interrupt is raised")
    func singleBuffer() throws {
        let harness = try NetHarness()
        let buffers = try harness.postReceive([2048])
        let frame = NetHarness.frame(length: 1000)
        try harness.backend.inject(NetHarness.netHeader(flags: 2) + frame)
        #expect(try harness.waitForReceived(1))
        let used = try harness.rx.usedElement(0)
        #expect(used.length == UInt32(Self.header + 1000))
        let bytes = try harness.contents(of: buffers[0], length: Self.header + 1000)
        #expect(bytes == NetHarness.netHeader(flags: 2, numBuffers: 1) + frame)
        #expect(eventually { harness.interrupts.level })
        #expect(harness.mmio.acknowledgeInterrupts() == 1)
    }

    @Test("a plain backend's frame gets a zero header with num_buffers 1")
    func plainBackend() throws {
        let harness = try NetHarness(vnetHeader: false)
        let buffers = try harness.postReceive([1600])
        let frame = NetHarness.frame(length: 60, seed: 3)
        try harness.backend.inject(frame)
        #expect(try harness.waitForReceived(1))
        #expect(
            try harness.contents(of: buffers[0], length: Self.header + 60) == NetHarness.netHeader(numBuffers: 1)
                + frame)
        #expect(try harness.rx.usedElement(0).length == UInt32(Self.header + 60))
    }

    @Test("a chain of several descriptors is filled as one buffer (header in its own descriptor)")
    func scatteredChain() throws {
        let harness = try NetHarness(vnetHeader: false, features: VirtioFeature.version1)
        let buffers = try harness.postReceive([12, 100, 1500])
        let frame = NetHarness.frame(length: 300, seed: 9)
        try harness.backend.inject(frame)
        #expect(try harness.waitForReceived(1))
        var bytes: [UInt8] = []
        for (buffer, length) in zip(buffers, [12, 100, 200]) {
            bytes += try harness.contents(of: buffer, length: length)
        }
        #expect(bytes == NetHarness.netHeader(numBuffers: 1) + frame)
        #expect(try harness.rx.usedElement(0).length == 312)
    }

    @Test("with MRG_RXBUF a frame spans several chains; num_buffers counts them and used lengths add up")
    func mergeableBuffers() throws {
        let harness = try NetHarness()
        var buffers: [TestBuffer] = []
        for _ in 0..<4 { buffers += try harness.rx.postReceiveBuffers([64]).buffers }
        harness.mmio.write(VirtioMMIORegister.queueNotify, 0)
        let frame = NetHarness.frame(length: 150, seed: 5)
        try harness.backend.inject(NetHarness.netHeader() + frame)
        #expect(try harness.waitForReceived(3))
        let lengths = try (0..<3).map { try harness.rx.usedElement($0).length }
        #expect(lengths == [64, 64, 34])
        #expect(try (0..<3).map { try harness.rx.usedElement($0).id } == [0, 1, 2])
        var bytes: [UInt8] = []
        for (buffer, length) in zip(buffers, lengths) { bytes += try harness.contents(of: buffer, length: Int(length)) }
        #expect(bytes == NetHarness.netHeader(numBuffers: 3) + frame)

        // The fourth chain is still the device's and takes the next frame.
        let small = NetHarness.frame(length: 20, seed: 1)
        try harness.backend.inject(NetHarness.netHeader() + small)
        #expect(try harness.waitForReceived(4))
        #expect(try harness.rx.usedElement(3) == (3, 32))
        #expect(try harness.contents(of: buffers[3], length: 32) == NetHarness.netHeader(numBuffers: 1) + small)
    }

    @Test("with no buffers the frame waits, and is delivered once the driver posts and notifies")
    func waitsForBuffers() throws {
        let harness = try NetHarness()
        let first = NetHarness.frame(length: 60, seed: 1)
        try harness.backend.inject(NetHarness.netHeader() + first)
        usleep(50_000)
        #expect(try harness.rx.usedIndex() == 0)
        try harness.postReceive([1024])
        #expect(try harness.waitForReceived(1))

        // The ring is empty again: the next frame waits, and avail_event (EVENT_IDX) asks the driver to
        // notify when it posts the next buffer (§2.7.10).
        let second = NetHarness.frame(length: 500, seed: 2)
        try harness.backend.inject(NetHarness.netHeader() + second)
        #expect(eventually { (try? harness.rx.availableEvent()) == 1 })
        usleep(20_000)
        #expect(try harness.rx.usedIndex() == 1)
        let buffers = try harness.postReceive([1024])
        #expect(try harness.waitForReceived(2))
        let bytes = try harness.contents(of: buffers[0], length: Self.header + 500)
        #expect(bytes == NetHarness.netHeader(numBuffers: 1) + second)
    }

    @Test("a mergeable frame larger than the buffers posted waits for more buffers")
    func mergeableWaitsForMore() throws {
        let harness = try NetHarness()
        try harness.postReceive([256])
        let frame = NetHarness.frame(length: 600, seed: 4)
        try harness.backend.inject(NetHarness.netHeader() + frame)
        usleep(50_000)
        #expect(try harness.rx.usedIndex() == 0)
        try harness.postReceive([256])
        try harness.postReceive([256])
        #expect(try harness.waitForReceived(3))
        #expect(try (0..<3).map { try harness.rx.usedElement($0).length } == [256, 256, 100])
    }

    @Test("without MRG_RXBUF a frame too big for the chain is dropped and the chain takes the next frame")
    func tooSmallWithoutMergeable() throws {
        let harness = try NetHarness(features: VirtioFeature.version1 | VirtioFeature.eventIndex)
        let buffers = try harness.postReceive([200])
        try harness.backend.inject(NetHarness.netHeader() + NetHarness.frame(length: 500))
        let small = NetHarness.frame(length: 100, seed: 8)
        try harness.backend.inject(NetHarness.netHeader() + small)
        #expect(try harness.waitForReceived(1))
        #expect(try harness.rx.usedElement(0).length == 112)
        #expect(try harness.contents(of: buffers[0], length: 112) == NetHarness.netHeader(numBuffers: 1) + small)
        #expect(harness.device.receiver.droppedFrames == 1)
    }

    @Test("receive chains that cannot hold a header are returned empty; readable parts are never written")
    func badReceiveChains() throws {
        let harness = try NetHarness()
        // Readable only, then a writable one too short for the header.
        let readable = try harness.rx.buffer([UInt8](repeating: 0x77, count: 64))
        try harness.rx.makeAvailable(
            try harness.rx.writeChain([TestBuffer(address: readable, length: 64, writable: false)]))
        try harness.rx.postReceiveBuffers([8])
        let good = try harness.rx.postReceiveBuffers([512]).buffers
        harness.mmio.write(VirtioMMIORegister.queueNotify, 0)
        let frame = NetHarness.frame(length: 100)
        try harness.backend.inject(NetHarness.netHeader() + frame)
        #expect(try harness.waitForReceived(3))
        #expect(try harness.rx.usedElement(0).length == 0)
        #expect(try harness.rx.usedElement(1).length == 0)
        #expect(try harness.rx.usedElement(2).length == 112)
        #expect(try harness.memory.read(at: readable, length: 64) == [UInt8](repeating: 0x77, count: 64))
        #expect(try harness.contents(of: good[0], length: 112) == NetHarness.netHeader(numBuffers: 1) + frame)
        #expect(!harness.needsReset)
    }

    @Test("a looping receive chain breaks the queue from the receive thread; a reset recovers")
    func loopingReceiveChain() throws {
        let harness = try NetHarness()
        let buffer = harness.rx.allocate(256)
        try harness.rx.setDescriptor(
            0, address: buffer.rawValue, length: 256, flags: DescriptorFlag.write | DescriptorFlag.next, next: 0)
        try harness.rx.makeAvailable(0)
        harness.mmio.write(VirtioMMIORegister.queueNotify, 0)
        #expect(eventually { harness.needsReset })
        #expect(harness.transport.queueError == .chainTooLong(limit: 64))

        try harness.restart()
        let buffers = try harness.postReceive([256])
        try harness.backend.inject(NetHarness.netHeader() + NetHarness.frame(length: 40))
        #expect(try harness.waitForReceived(1))
        #expect(
            try harness.contents(of: buffers[0], length: 52) == NetHarness.netHeader(numBuffers: 1)
                + NetHarness.frame(length: 40))
    }

    @Test("received headers are cut to what the driver accepted; unaccepted offloads are dropped")
    func headerSanitizing() throws {
        let harness = try NetHarness(features: VirtioFeature.version1 | VirtioNetFeature.mergeableReceiveBuffers)
        let buffers = try harness.postReceive([256])
        // No GUEST_CSUM: a partial checksum or a segment cannot be delivered; DATA_VALID is cleared.
        try harness.backend.inject(NetHarness.netHeader(flags: 1) + NetHarness.frame(length: 60))
        try harness.backend.inject(NetHarness.netHeader(gsoType: 1) + NetHarness.frame(length: 60))
        var dataValid = NetHarness.netHeader(flags: 2)
        dataValid[4] = 0x55
        try harness.backend.inject(dataValid + NetHarness.frame(length: 60, seed: 6))
        #expect(try harness.waitForReceived(1))
        #expect(
            try harness.contents(of: buffers[0], length: 72) == NetHarness.netHeader(numBuffers: 1)
                + NetHarness.frame(length: 60, seed: 6))
        #expect(harness.device.receiver.droppedFrames == 2)

        var header = [UInt8](repeating: 0, count: 12)
        header[0] = 1 | 2 | 4
        header[1] = 4 | 0x80
        let accepted = header.withUnsafeMutableBytes {
            VirtioNetHeader.sanitizeReceived($0, offloads: [.checksum, .tcp6Segmentation, .segmentationECN])
        }
        #expect(accepted && header[0] == 3)
        #expect(
            !header.withUnsafeMutableBytes {
                VirtioNetHeader.sanitizeReceived($0, offloads: [.checksum, .tcp6Segmentation])
            })
        header[1] = 1
        #expect(
            !header.withUnsafeMutableBytes {
                VirtioNetHeader.sanitizeReceived($0, offloads: [.checksum, .tcp6Segmentation])
            })
        header[1] = 3
        #expect(
            !header.withUnsafeMutableBytes {
                VirtioNetHeader.sanitizeReceived($0, offloads: [.checksum, .tcp4Segmentation, .tcp6Segmentation])
            })
    }

    @Test("frames shorter than the vnet header are dropped")
    func runtFrames() throws {
        let harness = try NetHarness()
        let buffers = try harness.postReceive([256])
        try harness.backend.inject([1, 2, 3])
        try harness.backend.inject(NetHarness.netHeader())
        try harness.backend.inject(NetHarness.netHeader() + [9])
        #expect(try harness.waitForReceived(1))
        #expect(try harness.contents(of: buffers[0], length: 13) == NetHarness.netHeader(numBuffers: 1) + [9])
        #expect(harness.device.receiver.droppedFrames == 2)
    }

    @Test("many frames are all delivered in order as buffers keep coming")
    func manyFrames() throws {
        let harness = try NetHarness(queueSize: 256)
        for _ in 0..<128 { try harness.rx.postReceiveBuffers([128]) }
        harness.mmio.write(VirtioMMIORegister.queueNotify, 0)
        for index in 0..<200 {
            try harness.backend.inject(NetHarness.netHeader() + NetHarness.frame(length: 100, seed: UInt8(index)))
        }
        #expect(try harness.waitForReceived(128))
        for _ in 0..<72 { try harness.rx.postReceiveBuffers([128]) }
        harness.mmio.write(VirtioMMIORegister.queueNotify, 0)
        #expect(try harness.waitForReceived(200))
        #expect(harness.device.receiver.deliveredFrames == 200)
        let last = try harness.memory.read(at: GuestAddress(0x100000 + 199 * 128 + 12), length: 100)
        #expect(last == NetHarness.frame(length: 100, seed: 199))
    }

    @Test("reset stops and joins the receive thread: nothing is written afterwards; DRIVER_OK starts a new one")
    func resetStopsThread() throws {
        let harness = try NetHarness()
        #expect(harness.device.receiver.isRunning)
        let buffers = try harness.postReceive([256])
        let clock = ContinuousClock()
        let elapsed = clock.measure { harness.mmio.write(VirtioMMIORegister.status, 0) }
        #expect(elapsed < .seconds(2))
        #expect(!harness.device.receiver.isRunning)
        try harness.backend.inject(NetHarness.netHeader() + NetHarness.frame(length: 40))
        usleep(50_000)
        #expect(try harness.rx.usedIndex() == 0)
        #expect(try harness.contents(of: buffers[0], length: 12) == [UInt8](repeating: 0, count: 12))

        try harness.restart()
        #expect(harness.device.receiver.isRunning)
        let fresh = try harness.postReceive([256])
        #expect(try harness.waitForReceived(1))
        #expect(
            try harness.contents(of: fresh[0], length: 52) == NetHarness.netHeader(numBuffers: 1)
                + NetHarness.frame(length: 40))
    }

    @Test("a reset while the thread waits in an interrupt call (the transport's lock) does not deadlock")
    func resetDuringInterrupt() throws {
        let memory = try GuestMemory(size: 8 << 20)
        let backend = try SocketPairBackend()
        let device = try VirtioNet(macAddress: NetHarness.mac, backend: backend, memory: memory)
        let rx = QueueRings(memory: memory, base: 0x10000, size: 16, bufferArea: 0x100000)
        // The interrupt blocks until the test opens the gate, as raising one waits for a transport lock
        // that a resetting vCPU holds.
        let gate = DispatchSemaphore(value: 0)
        let entered = DispatchSemaphore(value: 0)
        let interrupt = VirtioInterrupt(
            usedBuffers: { _ in
                entered.signal()
                gate.wait()
            }, queueError: { _ in })
        let queue = SplitVirtqueue(
            size: 16, isReady: true, descriptorTable: rx.descriptorTable, driverRing: rx.driverRing,
            deviceRing: rx.deviceRing)
        device.activate(
            features: device.deviceFeatures & ~VirtioFeature.eventIndex, queues: [queue, SplitVirtqueue()],
            interrupt: interrupt)
        try rx.postReceiveBuffers([256])
        _ = try device.processQueue(index: 0, memory: memory)
        try backend.inject(NetHarness.netHeader() + NetHarness.frame(length: 40))
        #expect(entered.wait(timeout: .now() + 5) == .success)

        let resetDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            device.reset()
            resetDone.signal()
        }
        let finished = resetDone.wait(timeout: .now() + 5) == .success
        gate.signal()
        #expect(finished, "reset waited for a thread blocked in the interrupt call")
        if !finished { _ = resetDone.wait(timeout: .now() + 5) }
        #expect(!device.receiver.isRunning)
        #expect(try rx.usedIndex() == 1)
    }

    @Test("a backend that hangs up stops being polled; the device stays usable for transmission")
    func backendHangUp() throws {
        let harness = try NetHarness()
        try harness.postReceive([256])
        harness.backend.hangUp()
        usleep(50_000)
        #expect(try harness.rx.usedIndex() == 0)
        #expect(!harness.needsReset)
        harness.mmio.write(VirtioMMIORegister.status, 0)
        #expect(!harness.device.receiver.isRunning)
    }

    @Test("releasing the device stops its receive thread")
    func deinitStopsThread() throws {
        let memory = try GuestMemory(size: 1 << 20)
        let backend = try SocketPairBackend()
        weak var receiver: NetworkReceiver?
        do {
            let device = try VirtioNet(macAddress: NetHarness.mac, backend: backend, memory: memory)
            let queue = SplitVirtqueue(
                size: 16, isReady: true, descriptorTable: GuestAddress(0x1000), driverRing: GuestAddress(0x2000),
                deviceRing: GuestAddress(0x3000))
            device.activate(features: device.deviceFeatures, queues: [queue, SplitVirtqueue()], interrupt: .none)
            #expect(device.receiver.isRunning)
            receiver = device.receiver
        }
        #expect(receiver == nil)
    }
}
