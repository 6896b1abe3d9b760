/// QEMU's block permissions (include/block/block-common.h, BLK_PERM_*): what an opener of an image does
/// with it, and what it lets other users do. QEMU's file driver publishes both as byte-range locks on
/// the image file, which is how two processes find out about each other (see `ImageSharing`).
public struct ImagePermissions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64

    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// BLK_PERM_CONSISTENT_READ: the reader's view of the contents is complete and self-consistent.
    public static let consistentRead = ImagePermissions(rawValue: 0x01)
    /// BLK_PERM_WRITE: changes the visible contents.
    public static let write = ImagePermissions(rawValue: 0x02)
    /// BLK_PERM_WRITE_UNCHANGED: writes that leave the visible contents as they are.
    public static let writeUnchanged = ImagePermissions(rawValue: 0x04)
    /// BLK_PERM_RESIZE: changes the size.
    public static let resize = ImagePermissions(rawValue: 0x08)
    /// BLK_PERM_ALL. QEMU 6.1 and older may also lock bit 4 (the removed BLK_PERM_GRAPH_MOD); it is left
    /// alone, as QEMU 7.2 does.
    public static let all: ImagePermissions = [.consistentRead, .write, .writeUnchanged, .resize]

    /// Each permission on its own, lowest bit first (QEMU's PERM_FOREACH order).
    var members: [(bit: Int, permission: ImagePermissions)] {
        (0..<4).compactMap { bit in
            let permission = ImagePermissions(rawValue: 1 << UInt64(bit))
            return contains(permission) ? (bit, permission) : nil
        }
    }

    /// bdrv_perm_names' wording for a single permission, as QEMU's lock messages print it.
    var name: String {
        switch self {
        case .consistentRead: return "consistent read"
        case .write: return "write"
        case .writeUnchanged: return "write unchanged"
        case .resize: return "resize"
        default: return members.map(\.permission.name).joined(separator: ", ")
        }
    }
}

/// How an image is shared with other processes, QEMU's way: each open file publishes the permissions it
/// takes and the ones it does not share as open file description locks (F_OFD_SETLK, shared locks) on
/// one byte each — byte 100 + bit for a permission taken, 200 + bit for one not shared (QEMU's
/// block/file-posix.c RAW_LOCK_PERM_BASE and RAW_LOCK_SHARED_BASE) — and refuses to open when another
/// process's locks conflict. QEMU, qemu-img and every image this library opens see each other.
public enum ImageSharing: Sendable, Hashable {
    /// As qemu-img opens images: qcow2 files never share write or resize (their metadata would go
    /// stale); raw files share everything.
    case standard
    /// qemu-img's -U (force-share=on): shares everything, so a reader opens an image another process
    /// is writing. Read-only opens only.
    case forceShare
    /// As QEMU's guest disks (share-rw=off): also a raw disk shares no writes with other processes.
    case device

    /// The permissions an opener of `format` takes and the ones it shares (QEMU 7.2, as measured in
    /// /proc/locks against qemu-io, qemu-img and qemu-system-x86_64).
    func locks(
        format: DiskImageFormat, readOnly: Bool
    ) throws(DiskImageError) -> (taken: ImagePermissions, shared: ImagePermissions) {
        if self == .forceShare && !readOnly {
            throw .invalidArgument("force-share=on can only be used with read-only images")
        }
        var taken: ImagePermissions = .consistentRead
        if !readOnly { taken.insert(format == .qcow2 ? [.write, .resize] : .write) }
        switch (self, format) {
        case (.forceShare, _): return (taken, .all)
        // bdrv_default_perms_for_storage: a file holding metadata shares neither write nor resize.
        case (_, .qcow2): return (taken, [.consistentRead, .writeUnchanged])
        case (.standard, .raw): return (taken, .all)
        case (.device, .raw): return (taken, ImagePermissions.all.subtracting(.write))
        }
    }
}

/// QEMU's image locks held on a file without serving its contents, for as long as this object lives:
/// for users that do their own I/O on the file (the VMM's O_DIRECT raw disks).
public final class ImageLease: Sendable {
    private let file: ImageFile

    /// Opens `path` and takes the locks an opener of `format` with `sharing` takes; throws
    /// `DiskImageError.locked` when another process's locks conflict.
    public init(path: String, format: DiskImageFormat, readOnly: Bool, sharing: ImageSharing) throws(DiskImageError) {
        file = try ImageFile(path: path, readOnly: true, locks: try sharing.locks(format: format, readOnly: readOnly))
    }
}
