/// `virConnectListAllStoragePoolsFlags` (libvirt-storage.h). As with domains, each yes/no pair with
/// both or neither bit set does not filter; the type bits select any of the named pool types.
public struct ListAllStoragePoolsFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let inactive = ListAllStoragePoolsFlags(rawValue: 1 << 0)
    public static let active = ListAllStoragePoolsFlags(rawValue: 1 << 1)
    public static let persistent = ListAllStoragePoolsFlags(rawValue: 1 << 2)
    public static let transient = ListAllStoragePoolsFlags(rawValue: 1 << 3)
    public static let autostart = ListAllStoragePoolsFlags(rawValue: 1 << 4)
    public static let noAutostart = ListAllStoragePoolsFlags(rawValue: 1 << 5)
    public static let dir = ListAllStoragePoolsFlags(rawValue: 1 << 6)
    /// The pool type bits: dir (1 << 6) through iscsi-direct (1 << 19).
    public static let types = ListAllStoragePoolsFlags(rawValue: 0xFFFC0)
    /// Every bit libvirt 9.0 defines; others are rejected as unsupported flags.
    public static let all = ListAllStoragePoolsFlags(rawValue: 0xFFFFF)

    /// What the filters look at for one pool.
    public struct Subject: Sendable {
        public var active: Bool
        public var persistent: Bool
        public var autostart: Bool
        /// The pool's type bit (`.dir` for a dir pool).
        public var type: ListAllStoragePoolsFlags

        public init(active: Bool, persistent: Bool, autostart: Bool, type: ListAllStoragePoolsFlags) {
            self.active = active
            self.persistent = persistent
            self.autostart = autostart
            self.type = type
        }
    }

    /// Whether a pool passes these filters (libvirt's virStoragePoolObjMatch rules).
    public func matches(_ subject: Subject) -> Bool {
        func pair(_ yes: ListAllStoragePoolsFlags, _ no: ListAllStoragePoolsFlags, _ value: Bool) -> Bool {
            let wantsYes = contains(yes)
            if wantsYes == contains(no) { return true }
            return wantsYes ? value : !value
        }
        guard pair(.active, .inactive, subject.active), pair(.persistent, .transient, subject.persistent),
            pair(.autostart, .noAutostart, subject.autostart)
        else { return false }
        let typeFilters = intersection(.types)
        return typeFilters.isEmpty || !typeFilters.isDisjoint(with: subject.type)
    }
}

/// `virStoragePoolCreateFlags` for STORAGE_POOL_CREATE and CREATE_XML.
public struct StoragePoolCreateFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let withBuild = StoragePoolCreateFlags(rawValue: 1 << 0)
    public static let withBuildOverwrite = StoragePoolCreateFlags(rawValue: 1 << 1)
    public static let withBuildNoOverwrite = StoragePoolCreateFlags(rawValue: 1 << 2)
    public static let all: StoragePoolCreateFlags = [.withBuild, .withBuildOverwrite, .withBuildNoOverwrite]
}

/// `virStoragePoolBuildFlags` for STORAGE_POOL_BUILD (0 is "new").
public struct StoragePoolBuildFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let repair = StoragePoolBuildFlags(rawValue: 1 << 0)
    public static let resize = StoragePoolBuildFlags(rawValue: 1 << 1)
    public static let noOverwrite = StoragePoolBuildFlags(rawValue: 1 << 2)
    public static let overwrite = StoragePoolBuildFlags(rawValue: 1 << 3)
}

/// `virStorageXMLFlags` for STORAGE_POOL_GET_XML_DESC.
public struct StorageXMLFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The persistent definition rather than the running one.
    public static let inactive = StorageXMLFlags(rawValue: 1 << 0)
}

/// `virStorageVolCreateFlags` for STORAGE_VOL_CREATE_XML and CREATE_XML_FROM.
public struct StorageVolumeCreateFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Allocate qcow2 metadata (L1/L2 tables) up front.
    public static let preallocateMetadata = StorageVolumeCreateFlags(rawValue: 1 << 0)
    /// A copy-on-write clone (btrfs); refused, SwiftVirt copies.
    public static let reflink = StorageVolumeCreateFlags(rawValue: 1 << 1)
    /// Check the XML against libvirt's schema; SwiftVirt's parser is always strict.
    public static let validate = StorageVolumeCreateFlags(rawValue: 1 << 2)
}

/// `virStorageVolResizeFlags` for STORAGE_VOL_RESIZE.
public struct StorageVolumeResizeFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let allocate = StorageVolumeResizeFlags(rawValue: 1 << 0)
    /// The capacity is added to (or with `shrink`, taken from) the current one.
    public static let delta = StorageVolumeResizeFlags(rawValue: 1 << 1)
    public static let shrink = StorageVolumeResizeFlags(rawValue: 1 << 2)
    public static let all: StorageVolumeResizeFlags = [.allocate, .delta, .shrink]
}
