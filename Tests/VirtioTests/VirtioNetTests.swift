import GuestMemory
import Testing

@testable import Virtio

@Suite("virtio-net configuration and transmission (§5.1)")
struct VirtioNetTests {
    static let offloadFeatures: UInt64 =
        VirtioNetFeature.checksum | VirtioNetFeature.guestChecksum | VirtioNetFeature.hostTSO4
        | VirtioNetFeature.hostTSO6 | VirtioNetFeature.hostECN | VirtioNetFeature.guestTSO4
        | VirtioNetFeature.guestTSO6 | VirtioNetFeature.guestECN

    @Test("config space: mac, status LINK_UP, one queue pair, mtu; writes are ignored")
    func configuration() throws {
        let harness = try NetHarness()
        let transport = harness.transport
        #expect(harness.device.deviceID == 1)
        #expect(harness.device.queueCount == 2)
        #expect(harness.mmio.read(VirtioMMIORegister.deviceID) == 1)
        #expect(transport.read(offset: 0x100, size: 4) == 0x1200_5452)
        #expect(transport.read(offset: 0x104, size: 2) == 0x5634)
        #expect(transport.read(offset: 0x100, size: 8) == 0x0001_5634_1200_5452)
        #expect(transport.read(offset: 0x106, size: 2) == 1)
        #expect(transport.read(offset: 0x108, size: 2) == 1)
        #expect(transport.read(offset: 0x10A, size: 2) == 1500)
        #expect(transport.read(offset: 0x10C, size: 4) == 0)
        #expect(harness.device.readConfig(offset: UInt64.max - 3, size: 8) == 0)
        transport.write(offset: 0x100, size: 4, value: 0xFFFF_FFFF)
        #expect(transport.read(offset: 0x100, size: 4) == 0x1200_5452)
        #expect(harness.mmio.status == 0b1111)
    }

    @Test("features: offloads only with a vnet-header backend")
    func features() throws {
        let base =
            VirtioFeature.version1 | VirtioFeature.eventIndex | VirtioFeature.indirectDescriptors
            | VirtioNetFeature.mac | VirtioNetFeature.mtu | VirtioNetFeature.status
            | VirtioNetFeature.mergeableReceiveBuffers
        let memory = try GuestMemory(size: 1 << 20)
        let plain = try VirtioNet(
            macAddress: NetHarness.mac, backend: try SocketPairBackend(vnetHeader: false), memory: memory)
        #expect(plain.deviceFeatures == base)
        let offloading = try VirtioNet(
            macAddress: NetHarness.mac, backend: try SocketPairBackend(vnetHeader: true), memory: memory)
        #expect(offloading.deviceFeatures == base | Self.offloadFeatures)
    }

    @Test("the constructor refuses a bad MTU or a multicast MAC")
    func constructorChecks() throws {
        let memory = try GuestMemory(size: 1 << 20)
        let backend = try SocketPairBackend()
        for mtu in [0, 67, 65536] {
            #expect(throws: VirtioNetError.invalidMTU(mtu)) {
                try VirtioNet(macAddress: NetHarness.mac, mtu: mtu, backend: backend, memory: memory)
            }
        }
        let multicast = try #require(MACAddress("01:00:5e:00:00:01"))
        #expect(throws: VirtioNetError.multicastMAC(multicast)) {
            try VirtioNet(macAddress: multicast, backend: backend, memory: memory)
        }
        let jumbo = try VirtioNet(macAddress: NetHarness.mac, mtu: 9000, backend: backend, memory: memory)
        #expect(jumbo.readConfig(offset: 10, size: 2) == 9000)
    }

    @Test("MAC addresses parse and print as six colon-separated octets")
    func macAddress() throws {
        let mac = try #require(MACAddress("52:54:00:AB:cd:0f"))
        #expect(mac.octets == [0x52, 0x54, 0x00, 0xAB, 0xCD, 0x0F])
        #expect(mac.description == "52:54:00:ab:cd:0f")
        #expect(!mac.isMulticast)
        for bad in [
            "", "52:54:00:ab:cd", "52:54:00:ab:cd:0f:00", "52:54:00:ab:cd:g0", "5:54:00:ab:cd:0f", "52-54-00-ab-cd-0f",
        ] {
            #expect(MACAddress(bad) == nil)
        }
        #expect(MACAddress(octets: [1, 2, 3]) == nil)
    }

    @Test("the driver's accepted GUEST_* offloads reach the backend at activation")
    func offloadsApplied() throws {
        let harness = try NetHarness()
        #expect(harness.backend.offloads == [[.checksum, .tcp4Segmentation, .tcp6Segmentation, .segmentationECN]])
        try harness.restart(
            features: VirtioFeature.version1 | VirtioNetFeature.guestChecksum | VirtioNetFeature.guestTSO6)
        #expect(harness.backend.offloads.last == [.checksum, .tcp6Segmentation])
        try harness.restart(features: VirtioFeature.version1 | VirtioNetFeature.guestTSO4 | VirtioNetFeature.guestECN)
        #expect(harness.backend.offloads.last == [])
        #expect(VirtioNet.guestOffloads(VirtioNetFeature.guestChecksum | VirtioNetFeature.guestECN) == .checksum)
    }

    @Test("a transmitted frame reaches a vnet-header backend with its header; used length 0, interrupt raised")
    func transmitWithHeader() throws {
        let harness = try NetHarness()
        let header = NetHarness.netHeader(flags: 1, gsoType: 1)
        let frame = NetHarness.frame(length: 1514)
        try harness.transmit([header + frame])
        #expect(harness.backend.transmitted() == header + frame)
        #expect(try harness.tx.usedIndex() == 1)
        #expect(try harness.tx.usedElement(0).length == 0)
        #expect(harness.interrupts.level)
        #expect(harness.mmio.acknowledgeInterrupts() == 1)
        #expect(harness.device.transmitter.sentFrames == 1)
    }

    @Test("header and frame split over several descriptors are gathered; a plain backend gets no header")
    func transmitGatheredWithoutHeader() throws {
        let harness = try NetHarness(vnetHeader: false)
        let frame = NetHarness.frame(length: 300, seed: 7)
        try harness.transmit([
            Array(NetHarness.netHeader()[0..<5]), Array(NetHarness.netHeader()[5...]) + frame[0..<100],
            Array(frame[100...]),
        ])
        #expect(harness.backend.transmitted() == frame)
    }

    @Test("several frames made available before one notify are all sent, in order")
    func transmitBatch() throws {
        let harness = try NetHarness()
        for seed: UInt8 in 1...3 {
            let head = try harness.tx.writeChain([
                TestBuffer(
                    address: try harness.tx.buffer(NetHarness.netHeader() + NetHarness.frame(length: 60, seed: seed)),
                    length: 72, writable: false)
            ])
            try harness.tx.makeAvailable(head)
        }
        harness.mmio.write(VirtioMMIORegister.queueNotify, 1)
        for seed: UInt8 in 1...3 {
            #expect(harness.backend.transmitted() == NetHarness.netHeader() + NetHarness.frame(length: 60, seed: seed))
        }
        #expect(try harness.tx.usedIndex() == 3)
    }

    @Test(
        "chains that are not frames are returned unsent and the queue keeps working",
        arguments: [
            ("writable buffer", [12 + 60], [64]),
            ("header only", [12], []),
            ("shorter than the header", [5], []),
            ("larger than 64 KiB plus the header", [12 + VirtioNet.maximumFrameLength + 1], []),
        ] as [(String, [Int], [Int])])
    func transmitRejects(name: String, readable: [Int], writable: [Int]) throws {
        let harness = try NetHarness()
        try harness.transmit(readable.map { [UInt8](repeating: 0xAB, count: $0) }, writableLengths: writable)
        #expect(try harness.tx.usedIndex() == 1)
        #expect(try harness.tx.usedElement(0).length == 0)
        #expect(harness.backend.transmitted(timeout: 50) == nil)
        #expect(harness.device.transmitter.droppedFrames == 1)
        #expect(!harness.needsReset)
        let frame = NetHarness.netHeader() + NetHarness.frame(length: 64)
        try harness.transmit([frame])
        #expect(harness.backend.transmitted() == frame)
    }

    @Test("the largest frame is sent")
    func transmitLargest() throws {
        let harness = try NetHarness()
        let frame = NetHarness.netHeader(gsoType: 1) + NetHarness.frame(length: VirtioNet.maximumFrameLength)
        try harness.transmit([frame])
        #expect(harness.backend.transmitted()?.count == frame.count)
    }

    @Test("a looping transmit chain breaks the queue without a crash; a reset recovers")
    func transmitLoop() throws {
        let harness = try NetHarness()
        let buffer = try harness.tx.buffer(NetHarness.netHeader() + NetHarness.frame(length: 60))
        try harness.tx.setDescriptor(0, address: buffer.rawValue, length: 72, flags: DescriptorFlag.next, next: 0)
        try harness.tx.makeAvailable(0)
        harness.mmio.write(VirtioMMIORegister.queueNotify, 1)
        #expect(harness.needsReset)
        #expect(harness.transport.queueError == .chainTooLong(limit: 64))
        #expect(harness.backend.transmitted(timeout: 50) == nil)

        try harness.restart()
        let frame = NetHarness.netHeader() + NetHarness.frame(length: 60)
        try harness.transmit([frame])
        #expect(harness.backend.transmitted() == frame)
        #expect(!harness.needsReset)
    }

    @Test("with EVENT_IDX, used_event ahead suppresses the transmit interrupt and avail_event is published")
    func transmitEventIndex() throws {
        let harness = try NetHarness()
        try harness.tx.setUsedEvent(5)
        try harness.transmit([NetHarness.netHeader() + NetHarness.frame(length: 60)])
        #expect(harness.backend.transmitted() != nil)
        #expect(harness.interrupts.history.isEmpty)
        #expect(try harness.tx.availableEvent() == 1)
    }

    @Test("the tun ioctl numbers match linux/if_tun.h and ifreq is laid out by hand")
    func tunIoctlNumbers() throws {
        #expect(TunIoctl.setInterface == 0x4004_54CA)
        #expect(TunIoctl.setOffload == 0x4004_54D0)
        #expect(TunIoctl.getInterface == 0x8004_54D2)
        #expect(TunIoctl.setVnetHeaderSize == 0x4004_54D8)
        let request = try #require(InterfaceRequest(name: "tap-test", flags: 0x5002))
        #expect(request.bytes.count == 40)
        #expect(Array(request.bytes[0..<9]) == Array("tap-test".utf8) + [0])
        #expect(request.bytes[16] == 0x02 && request.bytes[17] == 0x50)
        #expect(request.name == "tap-test")
        #expect(InterfaceRequest(name: "exactly16bytes!!", flags: 0) == nil)
        #expect(InterfaceRequest(name: "fifteen-bytes15", flags: 0)?.name == "fifteen-bytes15")
        #expect(InterfaceRequest(name: "nul\0inside", flags: 0) == nil)
    }
}
