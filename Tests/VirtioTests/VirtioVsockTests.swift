import GuestMemory
import Testing

@testable import Virtio

@Suite("virtio-vsock over Unix sockets (§5.10, Firecracker's host protocol)")
struct VirtioVsockTests {
    @Test("device ID 19, VERSION_1 and EVENT_IDX, guest_cid in config")
    func configuration() throws {
        let harness = try VsockHarness()
        #expect(harness.device.deviceID == 19)
        #expect(harness.device.deviceFeatures == VirtioFeature.version1 | VirtioFeature.eventIndex)
        #expect(harness.transport.read(offset: 0x100, size: 8) == 3)
        #expect(harness.transport.read(offset: 0x104, size: 4) == 0)
        #expect(harness.transport.read(offset: 0x108, size: 4) == 0)
        #expect(harness.mmio.status & VirtioDeviceStatus.deviceNeedsReset == 0)
    }

    @Test("invalid CIDs and socket paths are refused with a typed error")
    func invalidSetup() throws {
        let memory = try GuestMemory(size: 1 << 20)
        let directory = try HostTestSocket.makeDirectory()
        defer { HostTestSocket.removeDirectory(directory) }
        #expect(throws: VsockError.invalidGuestCID(2)) {
            try VirtioVsock(guestCID: 2, socketPath: directory + "/a", memory: memory)
        }
        let long = directory + "/" + String(repeating: "x", count: 120)
        #expect(throws: VsockError.host(.invalidSocketPath(path: long, limit: 107))) {
            try VirtioVsock(guestCID: 3, socketPath: long, memory: memory)
        }
        let first = try VirtioVsock(guestCID: 3, socketPath: directory + "/b", memory: memory)
        #expect(throws: VsockError.host(.socketPathInUse(path: directory + "/b"))) {
            try VirtioVsock(guestCID: 4, socketPath: directory + "/b", memory: memory)
        }
        first.stop()
    }

    @Test("guest REQUEST to a listening uds_P: RESPONSE, bytes both ways, credit both ways")
    func guestInitiated() throws {
        let harness = try VsockHarness(bufferAllocation: 64)
        let listener = try HostTestSocket.listen(path: harness.socketPath + "_5000")
        defer { listener.close() }
        try harness.send(VsockHarness.header(.request, guestPort: 1234, hostPort: 5000, bufferAllocation: 16))
        let response = try #require(try harness.expect(.response))
        #expect(response.header.sourceCID == 2)
        #expect(response.header.destinationCID == 3)
        #expect(response.header.sourcePort == 5000)
        #expect(response.header.destinationPort == 1234)
        #expect(response.header.bufferAllocation == 64)
        #expect(response.header.forwardCount == 0)
        let host = try listener.accept()
        defer { host.close() }

        // Guest → host, within the device's 64-byte buf_alloc.
        try harness.send(
            VsockHarness.header(.readWrite, guestPort: 1234, hostPort: 5000, length: 5, bufferAllocation: 16),
            payload: Array("hello".utf8))
        #expect(try host.read(count: 5) == Array("hello".utf8))
        let block = (0..<48).map { UInt8($0) }
        try harness.send(
            VsockHarness.header(.readWrite, guestPort: 1234, hostPort: 5000, length: 48, bufferAllocation: 16),
            payload: block)
        #expect(try host.read(count: 48) == block)
        // 53 bytes forwarded ≥ a quarter of buf_alloc: the device announces its fwd_cnt.
        let update = try #require(try harness.expect(.creditUpdate))
        #expect(update.header.forwardCount == 53)
        #expect(update.header.bufferAllocation == 64)

        // Host → guest: the guest advertised 16 bytes of buffer, so 40 bytes arrive 16 at a time.
        let message = (0..<40).map { UInt8(100 + $0) }
        try host.write(message)
        var received = try harness.receiveData(count: 16, guestPort: 1234)
        #expect(received == Array(message[0..<16]))
        #expect(try harness.receiveData(count: 1, guestPort: 1234, within: 0.2).isEmpty)
        try harness.send(
            VsockHarness.header(
                .creditUpdate, guestPort: 1234, hostPort: 5000, bufferAllocation: 16, forwardCount: 16))
        received += try harness.receiveData(count: 16, guestPort: 1234)
        #expect(received == Array(message[0..<32]))
        try harness.send(
            VsockHarness.header(
                .creditUpdate, guestPort: 1234, hostPort: 5000, bufferAllocation: 16, forwardCount: 32))
        received += try harness.receiveData(count: 8, guestPort: 1234)
        #expect(received == message)

        // A CREDIT_REQUEST is answered with the current credit.
        try harness.send(VsockHarness.header(.creditRequest, guestPort: 1234, hostPort: 5000, forwardCount: 40))
        let answer = try #require(try harness.expect(.creditUpdate))
        #expect(answer.header.forwardCount == 53)
        #expect(harness.mmio.status & VirtioDeviceStatus.deviceNeedsReset == 0)
    }

    @Test("a guest sending past the device's credit is reset and the host socket closed")
    func creditViolation() throws {
        let harness = try VsockHarness(bufferAllocation: 64)
        let listener = try HostTestSocket.listen(path: harness.socketPath + "_7")
        defer { listener.close() }
        let host = try #require(try harness.connectFromGuest(guestPort: 40, hostPort: 7, listener: listener))
        defer { host.close() }
        try harness.send(
            VsockHarness.header(.readWrite, guestPort: 40, hostPort: 7, length: 100),
            payload: [UInt8](repeating: 1, count: 100))
        let reset = try #require(try harness.expect(.reset))
        #expect(reset.header.destinationPort == 40)
        #expect(host.waitForEndOfFile())
    }

    @Test("a REQUEST to a port nobody listens on gets RST")
    func refused() throws {
        let harness = try VsockHarness()
        try harness.send(VsockHarness.header(.request, guestPort: 1234, hostPort: 5001))
        let reset = try #require(try harness.expect(.reset))
        #expect(reset.header.sourceCID == 2)
        #expect(reset.header.destinationCID == 3)
        #expect(reset.header.sourcePort == 5001)
        #expect(reset.header.destinationPort == 1234)
    }

    @Test("packets for unknown connections get RST; an RST for one is ignored")
    func unknownConnection() throws {
        let harness = try VsockHarness()
        try harness.send(
            VsockHarness.header(.readWrite, guestPort: 9, hostPort: 99, length: 3), payload: [1, 2, 3])
        #expect(try harness.expect(.reset)?.header.destinationPort == 9)
        try harness.send(VsockHarness.header(.reset, guestPort: 9, hostPort: 99))
        #expect(try harness.drain(for: 0.1).isEmpty)
    }

    @Test("host CONNECT <port>: REQUEST to the guest, OK <host port> after RESPONSE, data both ways")
    func hostInitiated() throws {
        let harness = try VsockHarness()
        let host = try HostTestSocket.connect(path: harness.socketPath)
        defer { host.close() }
        // Data right after the line stays in the socket until the guest accepted.
        try host.write("CONNECT 52\nearly")
        let request = try #require(try harness.expect(.request))
        #expect(request.header.sourceCID == 2)
        #expect(request.header.destinationCID == 3)
        #expect(request.header.destinationPort == 52)
        #expect(request.header.sourcePort >= 1 << 30)
        #expect(request.header.bufferAllocation == 64)
        let hostPort = request.header.sourcePort
        #expect(!host.hasInput(timeout: 50))

        try harness.send(VsockHarness.header(.response, guestPort: 52, hostPort: hostPort))
        #expect(try host.readLine() == "OK \(hostPort)\n")
        #expect(try harness.receiveData(count: 5, guestPort: 52) == Array("early".utf8))
        try host.write("ping")
        #expect(try harness.receiveData(count: 4, guestPort: 52) == Array("ping".utf8))
        try harness.send(
            VsockHarness.header(.readWrite, guestPort: 52, hostPort: hostPort, length: 4), payload: Array("pong".utf8))
        #expect(try host.read(count: 4) == Array("pong".utf8))

        // The guest resets: the host socket is closed.
        try harness.send(VsockHarness.header(.reset, guestPort: 52, hostPort: hostPort))
        #expect(host.waitForEndOfFile())
    }

    @Test("host CONNECT refused by the guest, or malformed: the host socket is closed")
    func hostInitiatedRefused() throws {
        let harness = try VsockHarness()
        let host = try HostTestSocket.connect(path: harness.socketPath)
        defer { host.close() }
        try host.write("CONNECT 53\n")
        let request = try #require(try harness.expect(.request))
        try harness.send(VsockHarness.header(.reset, guestPort: 53, hostPort: request.header.sourcePort))
        #expect(host.waitForEndOfFile())

        for line in [
            "HELLO 1\n", "CONNECT\n", "CONNECT 4294967296\n", "CONNECT 1x\n", String(repeating: "C", count: 40),
        ] {
            let client = try HostTestSocket.connect(path: harness.socketPath)
            defer { client.close() }
            try client.write(line)
            #expect(client.waitForEndOfFile(), "line \(line.debugDescription)")
        }
        #expect(try harness.drain(for: 0.1).isEmpty)
    }

    @Test("SHUTDOWN both ways: the guest's ends in RST and host EOF; the host's close becomes a SHUTDOWN")
    func shutdown() throws {
        let harness = try VsockHarness()
        let listener = try HostTestSocket.listen(path: harness.socketPath + "_80")
        defer { listener.close() }
        let first = try #require(try harness.connectFromGuest(guestPort: 1, hostPort: 80, listener: listener))
        defer { first.close() }
        try harness.send(VsockHarness.header(.shutdown, guestPort: 1, hostPort: 80, flags: VsockShutdown.both))
        #expect(try harness.expect(.reset)?.header.destinationPort == 1)
        #expect(first.waitForEndOfFile())

        let second = try #require(try harness.connectFromGuest(guestPort: 2, hostPort: 80, listener: listener))
        try second.write("bye")
        second.close()
        #expect(try harness.receiveData(count: 3, guestPort: 2) == Array("bye".utf8))
        let shutdown = try #require(try harness.expect(.shutdown))
        #expect(shutdown.header.destinationPort == 2)
        #expect(shutdown.header.flags == VsockShutdown.both)
        try harness.send(VsockHarness.header(.reset, guestPort: 2, hostPort: 80))
        #expect(harness.mmio.status & VirtioDeviceStatus.deviceNeedsReset == 0)
    }

    @Test("a len the buffers do not hold, or above the packet limit, resets the connection, nothing traps")
    func lyingLength() throws {
        let harness = try VsockHarness()
        let listener = try HostTestSocket.listen(path: harness.socketPath + "_9")
        defer { listener.close() }
        let host = try #require(try harness.connectFromGuest(guestPort: 5, hostPort: 9, listener: listener))
        defer { host.close() }
        try harness.send(
            VsockHarness.header(.readWrite, guestPort: 5, hostPort: 9, length: 1000),
            payload: [UInt8](repeating: 7, count: 10))
        #expect(try harness.expect(.reset)?.header.destinationPort == 5)
        #expect(host.readToEndOfFile() == [])

        let other = try #require(try harness.connectFromGuest(guestPort: 6, hostPort: 9, listener: listener))
        defer { other.close() }
        try harness.send(
            VsockHarness.header(.readWrite, guestPort: 6, hostPort: 9, length: 70_000),
            payload: [UInt8](repeating: 7, count: 70_000))
        #expect(try harness.expect(.reset)?.header.destinationPort == 6)
        #expect(other.waitForEndOfFile())

        // A header cut short cannot be answered: it is dropped, and the chain still returned.
        let before = try harness.transmit.usedIndex()
        let head = UInt16(harness.transmit.availableIndex % harness.transmit.size)
        try harness.transmit.setDescriptor(head, address: harness.transmit.allocate(20), length: 20)
        try harness.transmit.makeAvailable(head)
        harness.transport.notifyQueue(1)
        #expect(try harness.transmit.usedIndex() == before &+ 1)
        #expect(try harness.drain(for: 0.1).isEmpty)
        #expect(harness.mmio.status & VirtioDeviceStatus.deviceNeedsReset == 0)
    }

    @Test("a looping transmit chain breaks the queue (DEVICE_NEEDS_RESET), not the VMM")
    func loopingChain() throws {
        let harness = try VsockHarness()
        let buffer = harness.transmit.allocate(64)
        try harness.transmit.setDescriptor(0, address: buffer, length: 64, flags: DescriptorFlag.next, next: 1)
        try harness.transmit.setDescriptor(1, address: buffer, length: 64, flags: DescriptorFlag.next, next: 0)
        try harness.transmit.makeAvailable(0)
        harness.transport.notifyQueue(1)
        #expect(harness.mmio.status & VirtioDeviceStatus.deviceNeedsReset != 0)
        #expect(harness.transport.queueError == .chainTooLong(limit: 64))
    }

    @Test("reset with open connections closes them without hanging; the device works after re-activation")
    func resetWithOpenConnections() throws {
        let harness = try VsockHarness()
        let listener = try HostTestSocket.listen(path: harness.socketPath + "_300")
        defer { listener.close() }
        let guestSide = try #require(try harness.connectFromGuest(guestPort: 8, hostPort: 300, listener: listener))
        defer { guestSide.close() }
        let hostSide = try HostTestSocket.connect(path: harness.socketPath)
        defer { hostSide.close() }
        try hostSide.write("CONNECT 77\n")
        let request = try #require(try harness.expect(.request))
        try harness.send(VsockHarness.header(.response, guestPort: 77, hostPort: request.header.sourcePort))
        #expect(try hostSide.readLine() == "OK \(request.header.sourcePort)\n")
        // Host data in flight while the driver resets.
        try guestSide.write([UInt8](repeating: 1, count: 4096))

        let transport = harness.transport
        #expect(TestWait.finishes { transport.write(offset: VirtioMMIORegister.status, size: 4, value: 0) })
        #expect(harness.mmio.status == 0)
        #expect(guestSide.waitForEndOfFile())
        #expect(hostSide.waitForEndOfFile())

        try harness.bringUp(features: harness.device.deviceFeatures)
        let again = try #require(try harness.connectFromGuest(guestPort: 8, hostPort: 300, listener: listener))
        defer { again.close() }
        try harness.send(
            VsockHarness.header(.readWrite, guestPort: 8, hostPort: 300, length: 2), payload: Array("hi".utf8))
        #expect(try again.read(count: 2) == Array("hi".utf8))
        let device = harness.device
        #expect(TestWait.finishes { device.stop() })
    }

    @Test("without EVENT_IDX the device thread raises the used-buffer interrupt for host data")
    func interruptFromThread() throws {
        let harness = try VsockHarness(features: VirtioFeature.version1)
        let listener = try HostTestSocket.listen(path: harness.socketPath + "_11")
        defer { listener.close() }
        let host = try #require(try harness.connectFromGuest(guestPort: 3, hostPort: 11, listener: listener))
        defer { host.close() }
        harness.mmio.acknowledgeInterrupts()
        #expect(TestWait.until(within: 1) { !harness.interrupts.level })
        try host.write("x")
        #expect(TestWait.until { harness.interrupts.level })
        #expect(try harness.receiveData(count: 1, guestPort: 3) == Array("x".utf8))
    }

    @Test("CONNECT lines parse strictly")
    func connectLine() {
        #expect(VsockHandshake.parse(Array("CONNECT 52".utf8)) == 52)
        #expect(VsockHandshake.parse(Array("CONNECT 4294967295".utf8)) == UInt32.max)
        #expect(VsockHandshake.parse(Array("CONNECT 4294967296".utf8)) == nil)
        #expect(VsockHandshake.parse(Array("CONNECT ".utf8)) == nil)
        #expect(VsockHandshake.parse(Array("CONNECT -1".utf8)) == nil)
        #expect(VsockHandshake.parse(Array("connect 1".utf8)) == nil)
    }
}
