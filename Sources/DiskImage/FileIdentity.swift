/// A file's (device, inode): detects a backing chain that leads back to an image already open in it.
struct FileIdentity: Sendable, Hashable {
    let device: UInt64
    let inode: UInt64
}
