import Foundation
import GuestMemory

@testable import Virtio

/// A virtio-vsock device behind a virtio-mmio transport, brought up like Linux's driver does, with a
/// guest model that posts receive buffers, sends packets on the transmit queue and reads what arrives.
final class VsockHarness {
    static let guestCID: UInt64 = 3
    static let receiveBufferSize = VsockPacketHeader.size + 4096
    static let receiveBufferCount: UInt16 = 32

    let directory: String
    let socketPath: String
    let memory: GuestMemory
    let device: VirtioVsock
    let interrupts = InterruptRecorder()
    let transport: VirtioMMIOTransport
    let mmio: MMIODriver
    private(set) var receive: OffsetRingDriver
    private(set) var transmit: OffsetRingDriver
    private(set) var events: OffsetRingDriver
    private var receiveBuffers: [UInt16: GuestAddress] = [:]
    private var transmitHeader = GuestAddress(0)
    private var transmitPayload = GuestAddress(0)
    /// Packets read from the receive queue that `expect` has not matched yet.
    private var unmatched: [ReceivedPacket] = []

    struct ReceivedPacket {
        var header: VsockPacketHeader
        var payload: [UInt8]
        var operation: VsockOperation? { VsockOperation(rawValue: header.operation) }
    }

    init(bufferAllocation: UInt32 = 64, features: UInt64? = nil) throws {
        directory = try HostTestSocket.makeDirectory()
        socketPath = directory + "/v.sock"
        memory = try GuestMemory(size: 4 << 20)
        device = try VirtioVsock(
            guestCID: Self.guestCID, socketPath: socketPath, memory: memory, bufferAllocation: bufferAllocation)
        transport = VirtioMMIOTransport(device: device, memory: memory, interruptLine: interrupts.line)
        mmio = MMIODriver(transport: transport)
        receive = OffsetRingDriver(memory: memory, base: 0x10_0000)
        transmit = OffsetRingDriver(memory: memory, base: 0x20_0000)
        events = OffsetRingDriver(memory: memory, base: 0x30_0000)
        try bringUp(features: features ?? device.deviceFeatures)
    }

    deinit {
        device.stop()
        HostTestSocket.removeDirectory(directory)
    }

    /// Negotiates, sets up the three queues on fresh rings, DRIVER_OK, and posts receive buffers.
    func bringUp(features: UInt64) throws {
        receive = OffsetRingDriver(memory: memory, base: 0x10_0000)
        transmit = OffsetRingDriver(memory: memory, base: 0x20_0000)
        events = OffsetRingDriver(memory: memory, base: 0x30_0000)
        try memory.fill(0, at: GuestAddress(0x10_0000), length: 0x30_0000)
        mmio.negotiate(features: features)
        receive.setUp(queue: 0, on: mmio)
        transmit.setUp(queue: 1, on: mmio)
        events.setUp(queue: 2, on: mmio)
        mmio.driverOK()
        receiveBuffers = [:]
        unmatched = []
        for head in 0..<Self.receiveBufferCount {
            let buffer = receive.allocate(Self.receiveBufferSize)
            receiveBuffers[head] = buffer
            try receive.setDescriptor(
                head, address: buffer, length: UInt32(Self.receiveBufferSize), flags: DescriptorFlag.write)
            try receive.makeAvailable(head)
        }
        transmitHeader = transmit.allocate(VsockPacketHeader.size)
        transmitPayload = transmit.allocate(64 * 1024)
        transport.notifyQueue(0)
    }

    /// A header from the guest end of a connection.
    static func header(
        _ operation: VsockOperation, guestPort: UInt32, hostPort: UInt32, length: UInt32 = 0, flags: UInt32 = 0,
        bufferAllocation: UInt32 = 1 << 20, forwardCount: UInt32 = 0
    ) -> VsockPacketHeader {
        VsockPacketHeader(
            sourceCID: guestCID, destinationCID: VirtioVsock.hostCID, sourcePort: guestPort, destinationPort: hostPort,
            length: length, operation: operation, flags: flags, bufferAllocation: bufferAllocation,
            forwardCount: forwardCount)
    }

    /// Puts a packet on the transmit queue as one header descriptor and, with a payload, one payload
    /// descriptor (`payloadDescriptorLength` overrides its length, to make `len` lie), then notifies.
    func send(_ header: VsockPacketHeader, payload: [UInt8] = [], payloadDescriptorLength: UInt32? = nil) throws {
        var bytes = [UInt8](repeating: 0, count: VsockPacketHeader.size)
        bytes.withUnsafeMutableBytes { header.encode(into: $0) }
        try memory.write(bytes, at: transmitHeader)
        try memory.write(payload, at: transmitPayload)
        let payloadLength = payloadDescriptorLength ?? UInt32(payload.count)
        let head = UInt16(transmit.availableIndex % transmit.size)
        let second = (head + 1) % transmit.size
        try transmit.setDescriptor(
            head, address: transmitHeader, length: UInt32(VsockPacketHeader.size),
            flags: payloadLength > 0 ? DescriptorFlag.next : 0, next: second)
        if payloadLength > 0 {
            try transmit.setDescriptor(second, address: transmitPayload, length: payloadLength)
        }
        try transmit.makeAvailable(head)
        transport.notifyQueue(1)
    }

    /// Reads packets the device put in receive buffers, and gives the buffers back.
    func collect() throws {
        var returned = false
        for (id, length) in try receive.takeUsed() {
            guard let buffer = receiveBuffers[id] else { continue }
            let bytes = try memory.read(at: buffer, length: Int(length))
            if bytes.count >= VsockPacketHeader.size {
                let header = bytes.withUnsafeBytes { VsockPacketHeader(decoding: $0) }
                unmatched.append(ReceivedPacket(header: header, payload: Array(bytes[VsockPacketHeader.size...])))
            }
            try receive.makeAvailable(id)
            returned = true
        }
        if returned { transport.notifyQueue(0) }
    }

    /// The first packet (in arrival order) matching `predicate`, waiting up to `seconds` for it.
    func expect(within seconds: Double = 5, _ predicate: (ReceivedPacket) -> Bool) throws -> ReceivedPacket? {
        var found: ReceivedPacket?
        _ = try TestWait.until(within: seconds) {
            try collect()
            if let index = unmatched.firstIndex(where: predicate) {
                found = unmatched.remove(at: index)
                return true
            }
            return false
        }
        return found
    }

    /// The next packet with `operation`.
    func expect(_ operation: VsockOperation, within seconds: Double = 5) throws -> ReceivedPacket? {
        try expect(within: seconds) { $0.operation == operation }
    }

    /// All packets that arrived within `seconds`, unmatched ones included.
    func drain(for seconds: Double) throws -> [ReceivedPacket] {
        _ = try TestWait.until(within: seconds) {
            try collect()
            return false
        }
        defer { unmatched = [] }
        return unmatched
    }

    /// Payload bytes of RW packets for `guestPort` until `count` arrived (or the wait ran out).
    func receiveData(count: Int, guestPort: UInt32, within seconds: Double = 5) throws -> [UInt8] {
        var data: [UInt8] = []
        _ = try TestWait.until(within: seconds) {
            try collect()
            unmatched.removeAll { packet in
                guard packet.operation == .readWrite, packet.header.destinationPort == guestPort else { return false }
                data += packet.payload
                return true
            }
            return data.count >= count
        }
        return data
    }

    /// A guest connection to host port `hostPort` whose Unix listener is `listener`: REQUEST, RESPONSE,
    /// accept. Returns the host end.
    func connectFromGuest(guestPort: UInt32, hostPort: UInt32, listener: HostTestSocket, guestBuffer: UInt32 = 1 << 20)
        throws -> HostTestSocket?
    {
        try send(Self.header(.request, guestPort: guestPort, hostPort: hostPort, bufferAllocation: guestBuffer))
        guard try expect({ $0.operation == .response && $0.header.destinationPort == guestPort }) != nil else {
            return nil
        }
        return try listener.accept()
    }
}
