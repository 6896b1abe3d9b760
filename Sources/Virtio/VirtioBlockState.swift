/// What a virtio-blk device learns at activation and changes while it runs; kept behind its lock.
struct VirtioBlockState {
    /// The queues the driver set up; empty until activation.
    var queues: [SplitVirtqueue] = []
    /// Limits with the negotiated optional request types filled in.
    var limits: BlockRequestLimits
    var isActive = false
}
