/// struct ifreq (linux/if.h) as the tun ioctls use it, laid out by hand: ifr_name[IFNAMSIZ = 16] at 0,
/// then a 24-byte union whose first member here is ifr_flags (short) at 16; 40 bytes on 64-bit Linux.
struct InterfaceRequest {
    static let size = 40
    /// IFNAMSIZ, including the terminating NUL.
    static let nameCapacity = 16
    static let flagsOffset = 16

    var bytes = [UInt8](repeating: 0, count: InterfaceRequest.size)

    /// A request naming `name` (empty: the kernel picks "tapN") with `flags`; nil when the name does not
    /// fit IFNAMSIZ or contains NUL.
    init?(name: String, flags: UInt16) {
        let utf8 = Array(name.utf8)
        guard utf8.count < Self.nameCapacity, !utf8.contains(0) else { return nil }
        bytes.replaceSubrange(0..<utf8.count, with: utf8)
        self.flags = flags
    }

    /// An empty request for the kernel to fill (TUNGETIFF).
    init() {}

    /// The NUL-terminated interface name.
    var name: String {
        let end = bytes[0..<Self.nameCapacity].firstIndex(of: 0) ?? Self.nameCapacity
        return String(decoding: bytes[0..<end], as: UTF8.self)
    }

    var flags: UInt16 {
        get { UInt16(bytes[Self.flagsOffset]) | UInt16(bytes[Self.flagsOffset + 1]) << 8 }
        set {
            bytes[Self.flagsOffset] = UInt8(truncatingIfNeeded: newValue)
            bytes[Self.flagsOffset + 1] = UInt8(truncatingIfNeeded: newValue >> 8)
        }
    }
}
