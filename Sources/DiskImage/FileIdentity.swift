/// A file's (device, inode): detects a backing chain that leads back to an image already open in it,
/// and lets a caller that created a file itself have an image written into exactly that file.
public struct FileIdentity: Sendable, Hashable {
    public let device: UInt64
    public let inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }
}
