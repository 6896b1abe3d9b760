/// A file write or an ordering barrier, as seen by `Qcow2Image.writeObserver`: writes between two
/// barriers may reach the disk in any order, writes before a barrier all precede those after it.
@_spi(Testing) public enum Qcow2WriteEvent: Sendable {
    case write(offset: UInt64, bytes: [UInt8])
    case barrier
}
