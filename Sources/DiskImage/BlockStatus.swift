/// What backs a range of the virtual disk, as `qemu-img map` reports it.
public struct BlockStatus: Sendable, Equatable, CustomStringConvertible {
    /// How the range reads.
    public enum Kind: Sendable, Equatable {
        /// Stored data (at `hostOffset` of the image at `depth`, unless compressed).
        case data
        /// Reads as zeroes without stored data (a zero cluster, or a hole in a raw file).
        case zero
        /// No image in the chain maps the range; it reads as zeroes.
        case unallocated
    }

    public var kind: Kind
    /// Bytes from the queried offset that share this status (at least 1, at most the queried length).
    public var length: UInt64
    /// Which image of the backing chain provides the range: 0 is the opened image, 1 its backing file, ...
    public var depth: Int
    /// Byte offset in the file at `depth` where the range's data starts; nil when not a plain mapping.
    /// Zero and unallocated qcow2 ranges that keep a host cluster report it too, as QEMU does.
    public var hostOffset: UInt64?
    /// The range lies in a compressed qcow2 cluster.
    public var isCompressed: Bool

    public init(kind: Kind, length: UInt64, depth: Int, hostOffset: UInt64? = nil, isCompressed: Bool = false) {
        self.kind = kind
        self.length = length
        self.depth = depth
        self.hostOffset = hostOffset
        self.isCompressed = isCompressed
    }

    public var description: String {
        let offset = hostOffset.map { " host 0x" + String($0, radix: 16) } ?? ""
        return "\(kind) \(length) bytes depth \(depth)\(offset)\(isCompressed ? " compressed" : "")"
    }
}
