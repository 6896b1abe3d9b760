/// On-disk formats this library reads and writes. Raw values are the names qemu-img uses.
public enum DiskImageFormat: String, Sendable, CaseIterable, CustomStringConvertible {
    /// The file is the disk, byte for byte.
    case raw
    /// QEMU copy-on-write v2/v3 (docs/interop/qcow2.txt).
    case qcow2

    public var description: String { rawValue }
}
