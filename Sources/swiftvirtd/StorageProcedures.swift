import LibvirtProtocol

/// Storage pools and volumes. SwiftVirt has no storage driver: no pool exists, so listings are empty
/// and lookups fail as libvirt's do when nothing matches. Answering rather than refusing matters:
/// virt-install takes VIR_ERR_NO_SUPPORT from the pool listing to mean "no storage API" and then
/// drops every disk's path. Returns nil for procedures handled elsewhere.
extension RemoteDispatcher {
    func storageProcedure(_ procedure: RemoteProcedure, payload: [UInt8]) throws -> (any XDREncodable)? {
        switch procedure {
        case .connectNumOfStoragePools, .connectNumOfDefinedStoragePools:
            return IntMessage(0)
        case .connectListStoragePools, .connectListDefinedStoragePools:
            let maxNames = try decode(IntMessage.self, from: payload).value
            guard maxNames >= 0 else { throw LibvirtError.invalidArgument("maxnames must not be negative") }
            guard maxNames <= ListAllStoragePoolsReply.maxCount else {
                throw LibvirtError.rpc("maxnames > REMOTE_STORAGE_POOL_LIST_MAX")
            }
            return StringList([])
        case .connectListAllStoragePools:
            _ = try decode(ListAllStoragePoolsArgs.self, from: payload)
            return ListAllStoragePoolsReply(pools: [], count: 0)
        case .storagePoolLookupByName:
            let name = try decode(StringMessage.self, from: payload).value
            throw LibvirtError.noStoragePool("no storage pool with matching name '\(name)'")
        case .storagePoolLookupByUUID:
            let uuid = try decode(DomainLookupByUUIDArgs.self, from: payload).uuid
            throw LibvirtError.noStoragePool("no storage pool with matching uuid '\(uuid)'")
        case .storageVolumeLookupByKey:
            let key = try decode(StringMessage.self, from: payload).value
            throw LibvirtError.noStorageVolume("no storage vol with matching key \(key)")
        case .storageVolumeLookupByPath:
            let path = try decode(StringMessage.self, from: payload).value
            throw LibvirtError.noStorageVolume("no storage vol with matching path '\(path)'")
        default:
            return nil
        }
    }
}
