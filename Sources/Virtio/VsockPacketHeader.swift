import GuestMemory

/// The header every virtio-vsock packet starts with (virtio 1.2 §5.10.6, struct virtio_vsock_hdr):
/// 44 bytes, packed, little-endian.
///
/// | offset | field    |     | offset | field     |
/// |--------|----------|-----|--------|-----------|
/// | 0      | src_cid  | u64 | 28     | type  u16 |
/// | 8      | dst_cid  | u64 | 30     | op    u16 |
/// | 16     | src_port | u32 | 32     | flags u32 |
/// | 20     | dst_port | u32 | 36     | buf_alloc u32 |
/// | 24     | len      | u32 | 40     | fwd_cnt u32 |
struct VsockPacketHeader: Equatable {
    static let size = 44
    /// VIRTIO_VSOCK_TYPE_STREAM, the only socket type this device carries.
    static let streamType: UInt16 = 1

    var sourceCID: UInt64 = 0
    var destinationCID: UInt64 = 0
    var sourcePort: UInt32 = 0
    var destinationPort: UInt32 = 0
    /// Payload bytes after the header (only RW packets carry any).
    var length: UInt32 = 0
    var type: UInt16 = VsockPacketHeader.streamType
    var operation: UInt16 = 0
    /// SHUTDOWN flags (`VsockShutdown`); 0 for other operations.
    var flags: UInt32 = 0
    /// The sender's receive buffer size for this connection (§5.10.6 "Buffer Space Management").
    var bufferAllocation: UInt32 = 0
    /// Bytes the sender has taken out of that buffer so far, wrapping (same section).
    var forwardCount: UInt32 = 0

    init(
        sourceCID: UInt64 = 0, destinationCID: UInt64 = 0, sourcePort: UInt32 = 0, destinationPort: UInt32 = 0,
        length: UInt32 = 0, type: UInt16 = VsockPacketHeader.streamType, operation: VsockOperation,
        flags: UInt32 = 0, bufferAllocation: UInt32 = 0, forwardCount: UInt32 = 0
    ) {
        self.sourceCID = sourceCID
        self.destinationCID = destinationCID
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.length = length
        self.type = type
        self.operation = operation.rawValue
        self.flags = flags
        self.bufferAllocation = bufferAllocation
        self.forwardCount = forwardCount
    }

    /// Decodes the first 44 bytes of `bytes` (which must hold at least that many).
    init(decoding bytes: UnsafeRawBufferPointer) {
        func field<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        sourceCID = field(0, UInt64.self)
        destinationCID = field(8, UInt64.self)
        sourcePort = field(16, UInt32.self)
        destinationPort = field(20, UInt32.self)
        length = field(24, UInt32.self)
        type = field(28, UInt16.self)
        operation = field(30, UInt16.self)
        flags = field(32, UInt32.self)
        bufferAllocation = field(36, UInt32.self)
        forwardCount = field(40, UInt32.self)
    }

    /// Encodes into the first 44 bytes of `bytes`.
    func encode(into bytes: UnsafeMutableRawBufferPointer) {
        func put<T: FixedWidthInteger>(_ value: T, _ offset: Int) {
            bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: T.self)
        }
        put(sourceCID, 0)
        put(destinationCID, 8)
        put(sourcePort, 16)
        put(destinationPort, 20)
        put(length, 24)
        put(type, 28)
        put(operation, 30)
        put(flags, 32)
        put(bufferAllocation, 36)
        put(forwardCount, 40)
    }

    /// Reads the header from the start of a chain's readable bytes.
    static func read(from chain: DescriptorChain, memory: GuestMemory) throws(DescriptorChainError) -> Self {
        try withUnsafeTemporaryAllocation(byteCount: size, alignment: 8) { (buffer) throws(DescriptorChainError) in
            try chain.read(into: buffer, from: 0, memory: memory)
            return Self(decoding: UnsafeRawBufferPointer(buffer))
        }
    }

    /// Writes the header at the start of a chain's writable bytes.
    func write(to chain: DescriptorChain, memory: GuestMemory) throws(DescriptorChainError) {
        try withUnsafeTemporaryAllocation(byteCount: Self.size, alignment: 8) { (buffer) throws(DescriptorChainError) in
            encode(into: buffer)
            try chain.write(UnsafeRawBufferPointer(buffer), at: 0, memory: memory)
        }
    }
}

/// virtio-vsock operations (virtio 1.2 §5.10.6; linux/virtio_vsock.h VIRTIO_VSOCK_OP_*).
enum VsockOperation: UInt16 {
    case invalid = 0
    /// Connect to dst_port.
    case request = 1
    /// The REQUEST was accepted.
    case response = 2
    /// The connection is refused or gone.
    case reset = 3
    /// The sender stops receiving and/or sending (flags).
    case shutdown = 4
    /// Payload bytes.
    case readWrite = 5
    /// The sender's buf_alloc / fwd_cnt changed.
    case creditUpdate = 6
    /// The sender asks for a CREDIT_UPDATE.
    case creditRequest = 7
}

/// SHUTDOWN flags (virtio 1.2 §5.10.6 "Stream Sockets", VIRTIO_VSOCK_SHUTDOWN_F_*): what the sender of the
/// SHUTDOWN will no longer do.
enum VsockShutdown {
    /// VIRTIO_VSOCK_SHUTDOWN_F_RECEIVE: the sender receives no more data.
    static let receive: UInt32 = 1
    /// VIRTIO_VSOCK_SHUTDOWN_F_SEND: the sender sends no more data.
    static let send: UInt32 = 2
    static let both: UInt32 = 3
}
