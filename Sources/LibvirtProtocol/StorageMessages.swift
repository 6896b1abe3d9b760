// Storage pool and volume layouts of remote_protocol.x. As in ScalarMessages.swift, each type is one
// layout and its doc lists the procedures that use it.

/// `remote_nonnull_storage_vol`: a volume travels as its pool's name, its own name and its key.
public struct RemoteStorageVolume: XDRCodable, Hashable {
    public var pool: String
    public var name: String
    public var key: String

    public init(pool: String, name: String, key: String) {
        self.pool = pool
        self.name = name
        self.key = key
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        pool = try decoder.decodeRemoteString()
        name = try decoder.decodeRemoteString()
        key = try decoder.decodeRemoteString()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeRemoteString(pool)
        try encoder.encodeRemoteString(name)
        try encoder.encodeRemoteString(key)
    }
}

/// `{ remote_nonnull_storage_pool pool; }`: STORAGE_POOL_UNDEFINE, DESTROY, GET_INFO, GET_AUTOSTART,
/// NUM_OF_VOLUMES, IS_ACTIVE and IS_PERSISTENT args; STORAGE_POOL_LOOKUP_BY_NAME, LOOKUP_BY_UUID,
/// LOOKUP_BY_VOLUME, LOOKUP_BY_TARGET_PATH, CREATE_XML and DEFINE_XML ret.
public struct StoragePoolMessage: XDRCodable, Hashable {
    public var pool: RemoteStoragePool
    public init(_ pool: RemoteStoragePool) { self.pool = pool }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        pool = try RemoteStoragePool(from: &decoder)
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try pool.encode(to: &encoder)
    }
}

/// `{ remote_nonnull_storage_pool pool; unsigned int flags; }`: STORAGE_POOL_BUILD, CREATE, DELETE,
/// REFRESH and GET_XML_DESC args.
public struct StoragePoolFlagsMessage: XDRCodable, Hashable {
    public var pool: RemoteStoragePool
    public var flags: UInt32

    public init(_ pool: RemoteStoragePool, flags: UInt32) {
        self.pool = pool
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        pool = try RemoteStoragePool(from: &decoder)
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try pool.encode(to: &encoder)
        encoder.encode(flags)
    }
}

/// `remote_storage_pool_set_autostart_args`.
public struct StoragePoolSetAutostartArgs: XDRCodable, Hashable {
    public var pool: RemoteStoragePool
    public var autostart: Int32

    public init(_ pool: RemoteStoragePool, autostart: Int32) {
        self.pool = pool
        self.autostart = autostart
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        pool = try RemoteStoragePool(from: &decoder)
        autostart = try decoder.decodeInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try pool.encode(to: &encoder)
        encoder.encode(autostart)
    }
}

/// `remote_storage_pool_get_info_ret` (virStoragePoolInfo). `state` is an `unsigned char`, which XDR
/// carries in four bytes like any int.
public struct StoragePoolInfoReply: XDRCodable, Hashable {
    /// virStoragePoolState: 0 inactive, 1 building, 2 running, 3 degraded, 4 inaccessible.
    public var state: UInt8
    public var capacity: UInt64
    public var allocation: UInt64
    public var available: UInt64

    public init(state: UInt8, capacity: UInt64, allocation: UInt64, available: UInt64) {
        self.state = state
        self.capacity = capacity
        self.allocation = allocation
        self.available = available
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        state = UInt8(truncatingIfNeeded: try decoder.decodeUInt32())
        capacity = try decoder.decodeUInt64()
        allocation = try decoder.decodeUInt64()
        available = try decoder.decodeUInt64()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        encoder.encode(UInt32(state))
        encoder.encode(capacity)
        encoder.encode(allocation)
        encoder.encode(available)
    }
}

/// `remote_storage_pool_list_volumes_args`.
public struct StoragePoolListVolumesArgs: XDRCodable, Hashable {
    public var pool: RemoteStoragePool
    public var maxNames: Int32

    public init(_ pool: RemoteStoragePool, maxNames: Int32) {
        self.pool = pool
        self.maxNames = maxNames
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        pool = try RemoteStoragePool(from: &decoder)
        maxNames = try decoder.decodeInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try pool.encode(to: &encoder)
        encoder.encode(maxNames)
    }
}

/// `remote_storage_pool_list_all_volumes_args`: `needResults` 0 asks for the count only; no flags are
/// defined.
public struct StoragePoolListAllVolumesArgs: XDRCodable, Hashable {
    public var pool: RemoteStoragePool
    public var needResults: Int32
    public var flags: UInt32

    public init(_ pool: RemoteStoragePool, needResults: Int32, flags: UInt32) {
        self.pool = pool
        self.needResults = needResults
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        pool = try RemoteStoragePool(from: &decoder)
        needResults = try decoder.decodeInt32()
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try pool.encode(to: &encoder)
        encoder.encode(needResults)
        encoder.encode(flags)
    }
}

/// `remote_storage_pool_list_all_volumes_ret`.
public struct ListAllStorageVolumesReply: XDRCodable, Hashable {
    /// REMOTE_STORAGE_VOL_LIST_MAX.
    public static let maxCount = 16384
    public var volumes: [RemoteStorageVolume]
    public var count: UInt32

    public init(volumes: [RemoteStorageVolume], count: UInt32) {
        self.volumes = volumes
        self.count = count
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        // A volume takes at least three string lengths.
        volumes = try decoder.decodeArray(maxCount: Self.maxCount, minimumElementSize: 12) {
            (decoder: inout XDRDecoder) throws(XDRDecodingError) in try RemoteStorageVolume(from: &decoder)
        }
        count = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try encoder.encodeArray(volumes, maxCount: Self.maxCount) {
            encoder, volume throws(XDREncodingError) in try volume.encode(to: &encoder)
        }
        encoder.encode(count)
    }
}

/// `remote_storage_vol_lookup_by_name_args`.
public struct StorageVolumeLookupByNameArgs: XDRCodable, Hashable {
    public var pool: RemoteStoragePool
    public var name: String

    public init(_ pool: RemoteStoragePool, name: String) {
        self.pool = pool
        self.name = name
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        pool = try RemoteStoragePool(from: &decoder)
        name = try decoder.decodeRemoteString()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try pool.encode(to: &encoder)
        try encoder.encodeRemoteString(name)
    }
}

/// `{ remote_nonnull_storage_vol vol; }`: STORAGE_VOL_GET_INFO and GET_PATH args; STORAGE_VOL_LOOKUP_BY_NAME,
/// LOOKUP_BY_KEY, LOOKUP_BY_PATH, CREATE_XML and CREATE_XML_FROM ret; STORAGE_POOL_LOOKUP_BY_VOLUME args.
public struct StorageVolumeMessage: XDRCodable, Hashable {
    public var volume: RemoteStorageVolume
    public init(_ volume: RemoteStorageVolume) { self.volume = volume }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        volume = try RemoteStorageVolume(from: &decoder)
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try volume.encode(to: &encoder)
    }
}

/// `{ remote_nonnull_storage_vol vol; unsigned int flags; }`: STORAGE_VOL_DELETE, WIPE, GET_XML_DESC and
/// GET_INFO_FLAGS args.
public struct StorageVolumeFlagsMessage: XDRCodable, Hashable {
    public var volume: RemoteStorageVolume
    public var flags: UInt32

    public init(_ volume: RemoteStorageVolume, flags: UInt32) {
        self.volume = volume
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        volume = try RemoteStorageVolume(from: &decoder)
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try volume.encode(to: &encoder)
        encoder.encode(flags)
    }
}

/// `remote_storage_vol_create_xml_args`.
public struct StorageVolumeCreateXMLArgs: XDRCodable, Hashable {
    public var pool: RemoteStoragePool
    public var xml: String
    public var flags: UInt32

    public init(_ pool: RemoteStoragePool, xml: String, flags: UInt32) {
        self.pool = pool
        self.xml = xml
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        pool = try RemoteStoragePool(from: &decoder)
        xml = try decoder.decodeRemoteString()
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try pool.encode(to: &encoder)
        try encoder.encodeRemoteString(xml)
        encoder.encode(flags)
    }
}

/// `remote_storage_vol_create_xml_from_args`: a new volume whose content is `source`'s.
public struct StorageVolumeCreateXMLFromArgs: XDRCodable, Hashable {
    public var pool: RemoteStoragePool
    public var xml: String
    public var source: RemoteStorageVolume
    public var flags: UInt32

    public init(_ pool: RemoteStoragePool, xml: String, source: RemoteStorageVolume, flags: UInt32) {
        self.pool = pool
        self.xml = xml
        self.source = source
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        pool = try RemoteStoragePool(from: &decoder)
        xml = try decoder.decodeRemoteString()
        source = try RemoteStorageVolume(from: &decoder)
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try pool.encode(to: &encoder)
        try encoder.encodeRemoteString(xml)
        try source.encode(to: &encoder)
        encoder.encode(flags)
    }
}

/// `remote_storage_vol_get_info_ret` and `remote_storage_vol_get_info_flags_ret` (virStorageVolInfo).
public struct StorageVolumeInfoReply: XDRCodable, Hashable {
    /// virStorageVolType: 0 file, 1 block, 2 dir, 3 network, 4 netdir, 5 ploop.
    public var type: Int32
    public var capacity: UInt64
    public var allocation: UInt64

    public init(type: Int32, capacity: UInt64, allocation: UInt64) {
        self.type = type
        self.capacity = capacity
        self.allocation = allocation
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        type = try decoder.decodeInt32()
        capacity = try decoder.decodeUInt64()
        allocation = try decoder.decodeUInt64()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        encoder.encode(type)
        encoder.encode(capacity)
        encoder.encode(allocation)
    }
}

/// `remote_storage_vol_resize_args`: `capacity` in bytes, absolute unless `flags` has
/// VIR_STORAGE_VOL_RESIZE_DELTA.
public struct StorageVolumeResizeArgs: XDRCodable, Hashable {
    public var volume: RemoteStorageVolume
    public var capacity: UInt64
    public var flags: UInt32

    public init(_ volume: RemoteStorageVolume, capacity: UInt64, flags: UInt32) {
        self.volume = volume
        self.capacity = capacity
        self.flags = flags
    }

    public init(from decoder: inout XDRDecoder) throws(XDRDecodingError) {
        volume = try RemoteStorageVolume(from: &decoder)
        capacity = try decoder.decodeUInt64()
        flags = try decoder.decodeUInt32()
    }

    public func encode(to encoder: inout XDREncoder) throws(XDREncodingError) {
        try volume.encode(to: &encoder)
        encoder.encode(capacity)
        encoder.encode(flags)
    }
}
