/// The host side of a virtio-net device: where transmitted frames go and received frames come from
/// (a tap, a socket). Separate from the device model, like `BlockBackend`.
///
/// `send` runs on the thread that processes the transmit queue and `receive` on the device's receive
/// thread, possibly at the same time.
public protocol NetworkBackend: AnyObject, Sendable {
    /// A descriptor that polls readable (POLLIN) when `receive` has a frame; the receive thread waits on it.
    var fileDescriptor: Int32 { get }
    /// Frames in both directions start with the 12-byte virtio_net_hdr_v1 (virtio 1.2 §5.1.6), as a tap
    /// with IFF_VNET_HDR and TUNSETVNETHDRSZ 12 exchanges them. Without it the device removes the header
    /// before `send`, writes a plain one in front of received frames, and offers no offloads.
    var hasVnetHeader: Bool { get }
    /// Sends one frame (with its header when `hasVnetHeader`). Must not block: a full host queue throws.
    func send(_ frame: UnsafeRawBufferPointer) throws(NetworkBackendError)
    /// Receives one frame (with its header when `hasVnetHeader`) into the start of `buffer` and returns its
    /// length, or nil when none is waiting. Must not block. A frame longer than `buffer` may be truncated.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws(NetworkBackendError) -> Int?
    /// Tells the host which offloads the driver accepts in received frames; called on every activation.
    func setOffloads(_ offloads: NetworkOffloads) throws(NetworkBackendError)
}
