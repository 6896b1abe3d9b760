import LibvirtProtocol
import Management

/// Storage pool and volume procedures, mapped onto `StoragePools` (directory pools of image files).
/// Lookups of paths outside every active pool fail as libvirt's do, which virt-install takes as "not
/// a managed volume". Returns nil for procedures handled elsewhere.
extension RemoteDispatcher {
    func storageProcedure(_ procedure: RemoteProcedure, payload: [UInt8]) async throws -> (any XDREncodable)? {
        if let reply = try await storagePoolProcedure(procedure, payload: payload) { return reply }
        return try await storageVolumeProcedure(procedure, payload: payload)
    }

    private func storagePoolProcedure(
        _ procedure: RemoteProcedure, payload: [UInt8]
    ) async throws -> (any XDREncodable)? {
        switch procedure {
        case .connectNumOfStoragePools:
            return IntMessage(Int32(clamping: await storage.list().filter(\.isActive).count))
        case .connectNumOfDefinedStoragePools:
            return IntMessage(Int32(clamping: await storage.list().filter { !$0.isActive }.count))
        case .connectListStoragePools, .connectListDefinedStoragePools:
            let maxNames = try listLimit(
                decode(IntMessage.self, from: payload).value, name: "maxnames",
                limit: ListAllStoragePoolsReply.maxCount, limitName: "REMOTE_STORAGE_POOL_LIST_MAX")
            let active = procedure == .connectListStoragePools
            let names = await storage.list().filter { $0.isActive == active }.map(\.name)
            return StringList(Array(names.prefix(maxNames)))
        case .connectListAllStoragePools:
            let args = try decode(ListAllStoragePoolsArgs.self, from: payload)
            let flags = ListAllStoragePoolsFlags(rawValue: args.flags)
            let unknown = flags.subtracting(.all)
            guard unknown.isEmpty else {
                throw LibvirtError.unsupportedFlags(unknown.rawValue, function: "virConnectListAllStoragePools")
            }
            let matching = await storage.list().filter { flags.matches($0.filterSubject) }
            guard matching.count <= ListAllStoragePoolsReply.maxCount else {
                throw LibvirtError.rpc("Too many storage pools '\(matching.count)' for limit")
            }
            return ListAllStoragePoolsReply(
                pools: args.needResults != 0 ? matching.map(\.remote) : [], count: UInt32(matching.count))

        case .storagePoolLookupByName:
            return StoragePoolMessage(
                try await storage.lookup(name: decode(StringMessage.self, from: payload).value).remote)
        case .storagePoolLookupByUUID:
            let uuid = try decode(DomainLookupByUUIDArgs.self, from: payload).uuid
            return StoragePoolMessage(try await storage.lookup(uuid: uuid).remote)
        case .storagePoolLookupByVolume:
            let volume = try decode(StorageVolumeMessage.self, from: payload).volume
            return StoragePoolMessage(try await storage.pool(of: volume).remote)
        case .storagePoolLookupByTargetPath:
            let path = try decode(StringMessage.self, from: payload).value
            return StoragePoolMessage(try await storage.lookup(targetPath: path).remote)

        case .storagePoolDefineXML:
            let args = try decode(StringFlagsMessage.self, from: payload)
            // VIR_STORAGE_POOL_DEFINE_VALIDATE: the parser is always strict.
            try checkFlags(args.flags, allowed: 1, "virStoragePoolDefineXML")
            return StoragePoolMessage(try await storage.define(xml: args.value).remote)
        case .storagePoolCreateXML:
            let args = try decode(StringFlagsMessage.self, from: payload)
            let status = try await storage.createTransient(
                xml: args.value, flags: StoragePoolCreateFlags(rawValue: args.flags))
            return StoragePoolMessage(status.remote)
        case .storagePoolUndefine:
            try await storage.undefine(existingPool(decode(StoragePoolMessage.self, from: payload).pool))
            return XDRVoid()
        case .storagePoolBuild:
            let args = try decode(StoragePoolFlagsMessage.self, from: payload)
            try await storage.build(existingPool(args.pool), flags: StoragePoolBuildFlags(rawValue: args.flags))
            return XDRVoid()
        case .storagePoolCreate:
            let args = try decode(StoragePoolFlagsMessage.self, from: payload)
            try await storage.start(existingPool(args.pool), flags: StoragePoolCreateFlags(rawValue: args.flags))
            return XDRVoid()
        case .storagePoolDestroy:
            try await storage.destroy(existingPool(decode(StoragePoolMessage.self, from: payload).pool))
            return XDRVoid()
        case .storagePoolDelete:
            let args = try decode(StoragePoolFlagsMessage.self, from: payload)
            try await storage.delete(existingPool(args.pool), flags: args.flags)
            return XDRVoid()
        case .storagePoolRefresh:
            let args = try decode(StoragePoolFlagsMessage.self, from: payload)
            try checkFlags(args.flags, allowed: 0, "virStoragePoolRefresh")
            try await storage.refresh(existingPool(args.pool))
            return XDRVoid()

        case .storagePoolGetInfo:
            return try await storage.info(existingPool(decode(StoragePoolMessage.self, from: payload).pool))
        case .storagePoolGetXMLDesc:
            let args = try decode(StoragePoolFlagsMessage.self, from: payload)
            try checkFlags(args.flags, allowed: StorageXMLFlags.inactive.rawValue, "virStoragePoolGetXMLDesc")
            return StringMessage(
                try await storage.xmlDescription(existingPool(args.pool), flags: StorageXMLFlags(rawValue: args.flags)))
        case .storagePoolGetAutostart:
            let pool = try decode(StoragePoolMessage.self, from: payload).pool
            return IntMessage(try await storage.lookup(uuid: existingPool(pool)).autostart)
        case .storagePoolSetAutostart:
            let args = try decode(StoragePoolSetAutostartArgs.self, from: payload)
            try await storage.setAutostart(existingPool(args.pool), args.autostart != 0)
            return XDRVoid()
        case .storagePoolIsActive:
            let pool = try decode(StoragePoolMessage.self, from: payload).pool
            return IntMessage(try await storage.lookup(uuid: existingPool(pool)).isActive)
        case .storagePoolIsPersistent:
            let pool = try decode(StoragePoolMessage.self, from: payload).pool
            return IntMessage(try await storage.lookup(uuid: existingPool(pool)).isPersistent)
        default:
            return nil
        }
    }

    private func storageVolumeProcedure(
        _ procedure: RemoteProcedure, payload: [UInt8]
    ) async throws -> (any XDREncodable)? {
        switch procedure {
        case .storagePoolNumOfVolumes:
            let pool = try decode(StoragePoolMessage.self, from: payload).pool
            return IntMessage(Int32(clamping: try await storage.volumes(in: existingPool(pool)).count))
        case .storagePoolListVolumes:
            let args = try decode(StoragePoolListVolumesArgs.self, from: payload)
            let maxNames = try listLimit(
                args.maxNames, name: "maxnames", limit: ListAllStorageVolumesReply.maxCount,
                limitName: "REMOTE_STORAGE_VOL_LIST_MAX")
            let names = try await storage.volumes(in: existingPool(args.pool)).map(\.name)
            return StringList(Array(names.prefix(maxNames)))
        case .storagePoolListAllVolumes:
            let args = try decode(StoragePoolListAllVolumesArgs.self, from: payload)
            try checkFlags(args.flags, allowed: 0, "virStoragePoolListAllVolumes")
            let volumes = try await storage.volumes(in: existingPool(args.pool))
            guard volumes.count <= ListAllStorageVolumesReply.maxCount else {
                throw LibvirtError.rpc("Too many storage volumes '\(volumes.count)' for limit")
            }
            return ListAllStorageVolumesReply(
                volumes: args.needResults != 0 ? volumes.map(\.remote) : [], count: UInt32(volumes.count))

        case .storageVolumeLookupByName:
            let args = try decode(StorageVolumeLookupByNameArgs.self, from: payload)
            return StorageVolumeMessage(try await storage.volume(named: args.name, in: existingPool(args.pool)).remote)
        case .storageVolumeLookupByKey:
            let key = try decode(StringMessage.self, from: payload).value
            guard let volume = await storage.volume(path: key) else {
                throw LibvirtError.noStorageVolume("no storage vol with matching key \(key)")
            }
            return StorageVolumeMessage(volume.remote)
        case .storageVolumeLookupByPath:
            let path = try decode(StringMessage.self, from: payload).value
            guard let volume = await storage.volume(path: path) else {
                throw LibvirtError.noStorageVolume("no storage vol with matching path '\(path)'")
            }
            return StorageVolumeMessage(volume.remote)

        case .storageVolumeCreateXML:
            let args = try decode(StorageVolumeCreateXMLArgs.self, from: payload)
            let volume = try await storage.createVolume(
                in: existingPool(args.pool), xml: args.xml, flags: StorageVolumeCreateFlags(rawValue: args.flags))
            return StorageVolumeMessage(volume.remote)
        case .storageVolumeCreateXMLFrom:
            let args = try decode(StorageVolumeCreateXMLFromArgs.self, from: payload)
            let volume = try await storage.cloneVolume(
                in: existingPool(args.pool), xml: args.xml, source: args.source,
                flags: StorageVolumeCreateFlags(rawValue: args.flags))
            return StorageVolumeMessage(volume.remote)
        case .storageVolumeDelete:
            let args = try decode(StorageVolumeFlagsMessage.self, from: payload)
            try await storage.deleteVolume(args.volume, flags: args.flags)
            return XDRVoid()
        case .storageVolumeResize:
            let args = try decode(StorageVolumeResizeArgs.self, from: payload)
            try await storage.resizeVolume(
                args.volume, capacity: args.capacity, flags: StorageVolumeResizeFlags(rawValue: args.flags))
            return XDRVoid()

        case .storageVolumeGetInfo:
            return try await storage.volume(decode(StorageVolumeMessage.self, from: payload).volume).info
        case .storageVolumeGetInfoFlags:
            // VIR_STORAGE_VOL_GET_PHYSICAL (1) reports the file's length as allocation.
            let args = try decode(StorageVolumeFlagsMessage.self, from: payload)
            try checkFlags(args.flags, allowed: 1, "virStorageVolGetInfoFlags")
            let volume = try await storage.volume(args.volume)
            var info = volume.info
            if args.flags & 1 != 0 { info.allocation = volume.physical }
            return info
        case .storageVolumeGetXMLDesc:
            let args = try decode(StorageVolumeFlagsMessage.self, from: payload)
            try checkFlags(args.flags, allowed: 0, "virStorageVolGetXMLDesc")
            return StringMessage(try await storage.volume(args.volume).xml)
        case .storageVolumeGetPath:
            return StringMessage(try await storage.volume(decode(StorageVolumeMessage.self, from: payload).volume).path)
        default:
            return nil
        }
    }

    /// The UUID of the pool a client names; libvirt's storage driver finds it by UUID and reports a
    /// miss with both.
    private func existingPool(_ pool: RemoteStoragePool) async throws(LibvirtError) -> DomainUUID {
        do {
            return try await storage.lookup(uuid: pool.uuid).uuid
        } catch {
            throw .noStoragePool("no storage pool with matching uuid '\(pool.uuid)' (\(pool.name))")
        }
    }

    private func checkFlags(_ flags: UInt32, allowed: UInt32, _ function: String) throws(LibvirtError) {
        let unknown = flags & ~allowed
        guard unknown == 0 else { throw .unsupportedFlags(unknown, function: function) }
    }
}
