/// An internal snapshot as `qemu-img snapshot -l` lists it.
public struct Qcow2SnapshotInfo: Sendable, Equatable {
    public var id: String
    public var name: String
    /// Seconds since the Epoch when taken.
    public var dateSeconds: UInt32
    public var dateNanoseconds: UInt32
    /// Guest run time at the snapshot, nanoseconds.
    public var vmClockNanoseconds: UInt64
    /// Bytes of saved VM state (0 for disk-only snapshots).
    public var vmStateSize: UInt64
    /// Virtual disk size when taken, if recorded.
    public var diskSize: UInt64?
    /// Guest instructions executed (record/replay icount), if recorded.
    public var instructionCount: UInt64? = nil
}
