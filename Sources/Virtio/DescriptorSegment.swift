import GuestMemory

/// One buffer of a descriptor chain: [address, address+length) in guest RAM, checked when the chain was
/// walked. `isWritable` is VIRTQ_DESC_F_WRITE: the device may write it (virtio 1.2 §2.7.5).
public struct DescriptorSegment: Equatable, Sendable {
    public var address: GuestAddress
    public var length: UInt32
    public var isWritable: Bool

    public init(address: GuestAddress, length: UInt32, isWritable: Bool) {
        self.address = address
        self.length = length
        self.isWritable = isWritable
    }
}
