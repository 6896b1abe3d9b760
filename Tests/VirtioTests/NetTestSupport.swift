import Foundation
import GuestMemory
import Synchronization

@testable import Virtio

#if canImport(Glibc)
    import Glibc
#endif

/// A network backend over a Unix SOCK_SEQPACKET socket pair (message boundaries kept, no root needed):
/// the device uses one end, the test plays the host network on the other.
final class SocketPairBackend: NetworkBackend {
    let fileDescriptor: Int32
    let peer: Int32
    let hasVnetHeader: Bool
    private let recordedOffloads = Mutex<[NetworkOffloads]>([])

    init(vnetHeader: Bool = true) throws {
        var descriptors: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &descriptors) == 0
        else { throw NetworkBackendError.systemCall(name: "socketpair", errno: errno) }
        fileDescriptor = descriptors[0]
        peer = descriptors[1]
        hasVnetHeader = vnetHeader
        _ = fcntl(fileDescriptor, F_SETFL, fcntl(fileDescriptor, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        close(fileDescriptor)
        close(peer)
    }

    /// Every `setOffloads` call, in order.
    var offloads: [NetworkOffloads] { recordedOffloads.withLock { $0 } }

    func send(_ frame: UnsafeRawBufferPointer) throws(NetworkBackendError) {
        guard Glibc.send(fileDescriptor, frame.baseAddress, frame.count, Int32(MSG_NOSIGNAL)) >= 0 else {
            throw .systemCall(name: "send", errno: errno)
        }
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(NetworkBackendError) -> Int? {
        let count = recv(fileDescriptor, buffer.baseAddress, buffer.count, 0)
        if count > 0 { return count }
        if count == 0 { throw .closed }
        if errno == EAGAIN { return nil }
        throw .systemCall(name: "recv", errno: errno)
    }

    func setOffloads(_ offloads: NetworkOffloads) throws(NetworkBackendError) {
        recordedOffloads.withLock { $0.append(offloads) }
    }

    /// The host network sends a frame (header included when `hasVnetHeader`) towards the guest.
    func inject(_ bytes: [UInt8]) throws {
        let sent = bytes.withUnsafeBytes { Glibc.send(peer, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw NetworkBackendError.systemCall(name: "send", errno: errno) }
    }

    /// The next frame the guest transmitted, or nil when none arrives within `timeout` milliseconds.
    func transmitted(timeout: Int32 = 2000) -> [UInt8]? {
        var descriptor = pollfd(fd: peer, events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, timeout) == 1 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 80 * 1024)
        let count = bytes.withUnsafeMutableBytes { recv(peer, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        guard count >= 0 else { return nil }
        return Array(bytes[0..<count])
    }

    /// Closes the host side, as a backend that went away.
    func hangUp() {
        shutdown(peer, Int32(SHUT_RDWR))
    }
}

/// One split queue laid out by a test driver at `base` (descriptor table, then driver ring, then device
/// ring, each 4 KiB apart), with its own buffer area; chains get consecutive descriptor slots.
final class QueueRings {
    let memory: GuestMemory
    let size: UInt16
    let descriptorTable: GuestAddress
    let driverRing: GuestAddress
    let deviceRing: GuestAddress
    private(set) var availableIndex: UInt16 = 0
    private var nextBuffer: UInt64
    private var nextDescriptor: UInt16 = 0

    init(memory: GuestMemory, base: UInt64, size: UInt16, bufferArea: UInt64) {
        self.memory = memory
        self.size = size
        descriptorTable = GuestAddress(base)
        driverRing = GuestAddress(base + 0x4000)
        deviceRing = GuestAddress(base + 0x8000)
        nextBuffer = bufferArea
    }

    func allocate(_ length: Int) -> GuestAddress {
        let address = GuestAddress(nextBuffer)
        nextBuffer += UInt64((length + 15) & ~15)
        return address
    }

    func buffer(_ bytes: [UInt8]) throws -> GuestAddress {
        let address = allocate(bytes.count)
        try memory.write(bytes, at: address)
        return address
    }

    func setDescriptor(_ index: UInt16, address: UInt64, length: UInt32, flags: UInt16 = 0, next: UInt16 = 0) throws {
        let entry = descriptorTable.rawValue + 16 * UInt64(index)
        try memory.store(address, at: GuestAddress(entry))
        try memory.store(length, at: GuestAddress(entry + 8))
        try memory.store(flags, at: GuestAddress(entry + 12))
        try memory.store(next, at: GuestAddress(entry + 14))
    }

    /// Writes `buffers` as one chain in the next free descriptor slots; returns its head.
    func writeChain(_ buffers: [TestBuffer]) throws -> UInt16 {
        let head = nextDescriptor
        for (offset, buffer) in buffers.enumerated() {
            let index = (head &+ UInt16(offset)) % size
            let last = offset == buffers.count - 1
            var flags: UInt16 = buffer.writable ? DescriptorFlag.write : 0
            if !last { flags |= DescriptorFlag.next }
            try setDescriptor(
                index, address: buffer.address.rawValue, length: buffer.length, flags: flags,
                next: last ? 0 : (index &+ 1) % size)
        }
        nextDescriptor = (head &+ UInt16(buffers.count)) % size
        return head
    }

    /// Puts `head` in the next avail ring slot, then publishes avail->idx.
    func makeAvailable(_ head: UInt16) throws {
        try memory.store(head, at: GuestAddress(driverRing.rawValue + 4 + 2 * UInt64(availableIndex % size)))
        availableIndex &+= 1
        try memory.store(availableIndex, at: GuestAddress(driverRing.rawValue + 2))
    }

    /// Posts one chain of writable buffers of `lengths`; returns the head and the buffers.
    @discardableResult
    func postReceiveBuffers(_ lengths: [Int]) throws -> (head: UInt16, buffers: [TestBuffer]) {
        let buffers = lengths.map {
            TestBuffer(address: allocate($0), length: UInt32($0), writable: true)
        }
        let head = try writeChain(buffers)
        try makeAvailable(head)
        return (head, buffers)
    }

    func usedIndex() throws -> UInt16 {
        try memory.load(at: GuestAddress(deviceRing.rawValue + 2))
    }

    func usedElement(_ slot: UInt16) throws -> (id: UInt32, length: UInt32) {
        let entry = deviceRing.rawValue + 4 + 8 * UInt64(slot % size)
        return (try memory.load(at: GuestAddress(entry)), try memory.load(at: GuestAddress(entry + 4)))
    }

    func setUsedEvent(_ index: UInt16) throws {
        try memory.store(index, at: GuestAddress(driverRing.rawValue + 4 + 2 * UInt64(size)))
    }

    func availableEvent() throws -> UInt16 {
        try memory.load(at: GuestAddress(deviceRing.rawValue + 4 + 8 * UInt64(size)))
    }
}

extension MMIODriver {
    /// Sets up queue `index` at `rings` and marks it ready.
    func setUpQueue(_ index: UInt32, rings: QueueRings) {
        write(VirtioMMIORegister.queueSelect, index)
        write(VirtioMMIORegister.queueSize, UInt32(rings.size))
        for (low, address) in [
            (VirtioMMIORegister.queueDescriptorLow, rings.descriptorTable.rawValue),
            (VirtioMMIORegister.queueDriverLow, rings.driverRing.rawValue),
            (VirtioMMIORegister.queueDeviceLow, rings.deviceRing.rawValue),
        ] {
            write(low, UInt32(truncatingIfNeeded: address))
            write(low + 4, UInt32(truncatingIfNeeded: address >> 32))
        }
        write(VirtioMMIORegister.queueReady, 1)
    }
}

/// Polls `condition` every millisecond until it holds or `timeout` passes; returns its last value.
func eventually(timeout: Duration = .seconds(5), _ condition: () throws -> Bool) rethrows -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try condition() { return true }
        usleep(1000)
    }
    return try condition()
}

/// A virtio-net device on a socket-pair backend behind a virtio-mmio transport, brought up by a driver
/// with receive queue 0 and transmit queue 1 in guest memory.
final class NetHarness {
    static let mac = MACAddress("52:54:00:12:34:56")!
    static let header = VirtioNetHeader.size

    let memory: GuestMemory
    let network: any NetworkBackend
    /// The socket-pair backend, when the harness made one.
    let pair: SocketPairBackend?
    let device: VirtioNet
    let interrupts = InterruptRecorder()
    let transport: VirtioMMIOTransport
    let mmio: MMIODriver
    private(set) var rx: QueueRings
    private(set) var tx: QueueRings

    /// - Parameter features: what the driver accepts; all the device offers when nil.
    convenience init(vnetHeader: Bool = true, features: UInt64? = nil, queueSize: UInt16 = 64) throws {
        let pair = try SocketPairBackend(vnetHeader: vnetHeader)
        try self.init(network: pair, pair: pair, features: features, queueSize: queueSize)
    }

    init(network: any NetworkBackend, pair: SocketPairBackend? = nil, features: UInt64? = nil, queueSize: UInt16 = 64)
        throws
    {
        memory = try GuestMemory(size: 8 << 20)
        self.network = network
        self.pair = pair
        device = try VirtioNet(macAddress: Self.mac, mtu: 1500, backend: network, memory: memory)
        transport = VirtioMMIOTransport(device: device, memory: memory, interruptLine: interrupts.line)
        mmio = MMIODriver(transport: transport)
        rx = QueueRings(memory: memory, base: 0x10000, size: queueSize, bufferArea: 0x100000)
        tx = QueueRings(memory: memory, base: 0x20000, size: queueSize, bufferArea: 0x400000)
        bringUp(features: features ?? device.deviceFeatures)
    }

    /// Negotiates `features`, sets up both queues and sets DRIVER_OK.
    func bringUp(features: UInt64) {
        mmio.negotiate(features: features)
        mmio.setUpQueue(0, rings: rx)
        mmio.setUpQueue(1, rings: tx)
        mmio.driverOK()
    }

    /// Resets the device and brings it up again on fresh rings (zeroed ring indices).
    func restart(features: UInt64? = nil) throws {
        mmio.write(VirtioMMIORegister.status, 0)
        for base: UInt64 in [0x10000, 0x20000] {
            try memory.fill(0, at: GuestAddress(base), length: 0xC000)
        }
        rx = QueueRings(memory: memory, base: 0x10000, size: rx.size, bufferArea: 0x200000)
        tx = QueueRings(memory: memory, base: 0x20000, size: tx.size, bufferArea: 0x500000)
        bringUp(features: features ?? device.deviceFeatures)
    }

    /// The socket-pair backend (harnesses made with `init(vnetHeader:features:queueSize:)`).
    var backend: SocketPairBackend { pair! }

    var needsReset: Bool { mmio.status & VirtioDeviceStatus.deviceNeedsReset != 0 }

    /// A virtio_net_hdr_v1 with the given flags and gso_type, other fields 0.
    static func netHeader(flags: UInt8 = 0, gsoType: UInt8 = 0, numBuffers: UInt16 = 0) -> [UInt8] {
        [flags, gsoType, 0, 0, 0, 0, 0, 0, 0, 0, UInt8(truncatingIfNeeded: numBuffers), UInt8(numBuffers >> 8)]
    }

    /// An Ethernet frame of `length` bytes with a recognisable pattern.
    static func frame(length: Int, seed: UInt8 = 0) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) ^ seed }
    }

    /// Transmits `readable` buffers as one chain (plus writable `writableLengths`) and notifies queue 1.
    func transmit(_ readable: [[UInt8]], writableLengths: [Int] = []) throws {
        var buffers = try readable.map {
            TestBuffer(address: try tx.buffer($0), length: UInt32($0.count), writable: false)
        }
        buffers += writableLengths.map { TestBuffer(address: tx.allocate($0), length: UInt32($0), writable: true) }
        let head = try tx.writeChain(buffers)
        try tx.makeAvailable(head)
        mmio.write(VirtioMMIORegister.queueNotify, 1)
    }

    /// Posts receive buffers and notifies queue 0.
    @discardableResult
    func postReceive(_ lengths: [Int]) throws -> [TestBuffer] {
        let posted = try rx.postReceiveBuffers(lengths)
        mmio.write(VirtioMMIORegister.queueNotify, 0)
        return posted.buffers
    }

    /// Waits until the receive queue's used index reaches `count`.
    func waitForReceived(_ count: UInt16, timeout: Duration = .seconds(5)) throws -> Bool {
        try eventually(timeout: timeout) { try rx.usedIndex() == count }
    }

    /// The bytes the device wrote into `buffer`, up to `length`.
    func contents(of buffer: TestBuffer, length: Int) throws -> [UInt8] {
        try memory.read(at: buffer.address, length: length)
    }
}
