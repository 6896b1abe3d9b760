import DiskImage
import LibvirtProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// Volumes: the regular files in an active pool's directory, read afresh on every call (so files
/// added by hand show without a refresh), created and resized through DiskImage.
extension StoragePools {
    /// The largest capacity: what a file offset (off_t) holds, sector-aligned. DiskImage has its own
    /// limits below it; this one keeps the arithmetic here from overflowing.
    static let maximumCapacity = UInt64(Int64.max) & ~511

    /// An active pool's volumes, by name.
    public func volumes(in uuid: DomainUUID) throws(LibvirtError) -> [StorageVolume] {
        let pool = try activePool(uuid)
        let names: [String]
        do {
            names = try HostFiles.list(pool.targetPath)
        } catch {
            throw Self.systemError("cannot open directory '\(pool.targetPath)'", error)
        }
        // A name that did not decode as UTF-8 cannot be named back by a client.
        return names.sorted().filter { StoragePath.problem(withVolumeName: $0) == nil && !$0.contains("\u{FFFD}") }
            .compactMap {
                try? StorageVolume.read(pool: pool.name, name: $0, path: StoragePath.volume($0, in: pool.targetPath))
            }
    }

    public func volume(named name: String, in uuid: DomainUUID) throws(LibvirtError) -> StorageVolume {
        let pool = try activePool(uuid)
        guard StoragePath.problem(withVolumeName: name) == nil,
            let volume = try? StorageVolume.read(
                pool: pool.name, name: name, path: StoragePath.volume(name, in: pool.targetPath))
        else {
            throw .noStorageVolume("no storage vol with matching name '\(name)'")
        }
        return volume
    }

    /// The volume at `path` in an active pool, if any (a dir pool volume's key is its path too).
    public func volume(path: String) -> StorageVolume? {
        guard let (directory, name) = StoragePath.split(volumePath: path),
            let pool = pools.values.compactMap(\.live).first(where: { $0.targetPath == directory })
        else { return nil }
        return try? StorageVolume.read(pool: pool.name, name: name, path: StoragePath.volume(name, in: directory))
    }

    /// The volume a client names: its pool by name, then the volume by name, as libvirt finds them.
    public func volume(_ remote: RemoteStorageVolume) throws(LibvirtError) -> StorageVolume {
        try volume(named: remote.name, in: lookup(name: remote.pool).uuid)
    }

    /// Creates a volume in an active pool: an empty raw file or qcow2 image of the defined capacity.
    public func createVolume(in uuid: DomainUUID, xml: String, flags: StorageVolumeCreateFlags) throws(LibvirtError)
        -> StorageVolume
    {
        let pool = try activePool(uuid)
        let definition = try StorageVolumeDefinition.parse(xml)
        let path = try newVolumePath(definition, in: pool, flags: flags)
        try makeImage(definition, format: definition.format ?? .raw, at: path, flags: flags)
        return try volume(named: definition.name, in: uuid)
    }

    /// Creates a volume holding a copy of `source`'s content: in `source`'s format unless the XML
    /// names one, at least as large as `source`.
    public func cloneVolume(
        in uuid: DomainUUID, xml: String, source remote: RemoteStorageVolume, flags: StorageVolumeCreateFlags
    ) throws(LibvirtError) -> StorageVolume {
        let pool = try activePool(uuid)
        let source = try volume(remote)
        var definition = try StorageVolumeDefinition.parse(xml)
        definition.capacity = max(definition.capacity, source.capacity)
        let format = definition.format ?? source.format
        let path = try newVolumePath(definition, in: pool, flags: flags)
        try makeImage(definition, format: format, at: path, flags: flags)
        do {
            try Self.copy(from: source, to: path, format: format)
        } catch {
            try? HostFiles.remove(path)
            throw Self.imageError("cannot copy volume '\(source.name)' to '\(definition.name)'", error)
        }
        return try volume(named: definition.name, in: uuid)
    }

    public func deleteVolume(_ remote: RemoteStorageVolume, flags: UInt32) throws(LibvirtError) {
        let volume = try volume(remote)
        guard flags == 0 else { throw .unsupportedFlags(flags, function: "virStorageVolDelete") }
        do {
            try HostFiles.remove(volume.path)
        } catch {
            throw Self.systemError("cannot unlink file '\(volume.path)'", error)
        }
    }

    /// Changes a volume's capacity; shrinking needs `.shrink` (and qcow2 refuses to drop stored data).
    public func resizeVolume(
        _ remote: RemoteStorageVolume, capacity requested: UInt64, flags: StorageVolumeResizeFlags
    ) throws(LibvirtError) {
        let volume = try volume(remote)
        let unknown = flags.subtracting(.all)
        guard unknown.isEmpty else { throw .unsupportedFlags(unknown.rawValue, function: "virStorageVolResize") }
        guard !flags.contains(.allocate) else {
            throw .noSupport("preallocating a volume while resizing it", domain: .storage)
        }
        var capacity = requested
        if flags.contains(.delta) {
            if flags.contains(.shrink) {
                guard requested <= volume.capacity else {
                    throw .invalidArgument("can't shrink capacity below size 0")
                }
                capacity = volume.capacity - requested
            } else {
                let (sum, overflow) = volume.capacity.addingReportingOverflow(requested)
                guard !overflow else {
                    throw LibvirtError(
                        code: .overflow, domain: .storage,
                        message: "numerical overflow: capacity \(volume.capacity) + \(requested)")
                }
                capacity = sum
            }
        }
        if capacity < volume.capacity && !flags.contains(.shrink) {
            throw .invalidArgument(
                "Can't shrink capacity below current capacity unless shrink flag explicitly specified")
        }
        guard capacity <= Self.maximumCapacity else {
            throw .invalidArgument("volume capacity \(capacity) exceeds the maximum of \(Self.maximumCapacity)")
        }
        do {
            switch volume.format {
            case .raw:
                try RawImage(path: volume.path, followSymlinks: false).resize(to: capacity)
            case .qcow2:
                let image = try Qcow2Image(path: volume.path, backingChainLimit: 0, followSymlinks: false)
                try image.resize(to: Self.sectorAligned(capacity))
                try image.close()
            }
        } catch {
            throw Self.imageError("cannot resize volume '\(volume.name)'", error)
        }
    }

    /// The pool a volume a client names is in.
    public func pool(of remote: RemoteStorageVolume) throws(LibvirtError) -> StoragePoolStatus {
        let status = try lookup(name: remote.pool)
        _ = try volume(named: remote.name, in: status.uuid)
        return status
    }

    // MARK: Making images

    /// `<pool directory>/<name>` for a new volume, after checking the name and the flags.
    private func newVolumePath(
        _ definition: StorageVolumeDefinition, in pool: StoragePoolDefinition, flags: StorageVolumeCreateFlags
    ) throws(LibvirtError) -> String {
        let unknown = flags.subtracting([.preallocateMetadata, .reflink, .validate])
        guard unknown.isEmpty else { throw .unsupportedFlags(unknown.rawValue, function: "virStorageVolCreateXML") }
        guard !flags.contains(.reflink) else {
            throw .noSupport("reflink copies (VIR_STORAGE_VOL_CREATE_REFLINK)", domain: .storage)
        }
        if let problem = StoragePath.problem(withVolumeName: definition.name) {
            throw .operationInvalid("volume name '\(definition.name)' is not allowed: \(problem)", domain: .storage)
        }
        guard definition.capacity <= Self.maximumCapacity else {
            throw .invalidArgument(
                "volume capacity \(definition.capacity) exceeds the maximum of \(Self.maximumCapacity)")
        }
        let path = StoragePath.volume(definition.name, in: pool.targetPath)
        guard !HostFiles.exists(path) else { throw .storageVolumeExists(definition.name) }
        return path
    }

    /// Creates the file exclusively (a name taken meanwhile, or a planted symbolic link, is refused),
    /// then writes the empty image into that very file: DiskImage reopens it without following a
    /// symbolic link and checks its inode, so a name swapped meanwhile by someone who can write to the
    /// pool directory is refused, not written through. Raw volumes are sparse unless the allocation
    /// equals the capacity; qcow2 metadata is preallocated on request.
    private func makeImage(
        _ definition: StorageVolumeDefinition, format: DiskImageFormat, at path: String,
        flags: StorageVolumeCreateFlags
    ) throws(LibvirtError) {
        let permissions = definition.permissions
        let created: FileIdentity
        do {
            let (device, inode) = try HostFiles.createExclusive(
                path, mode: mode_t(permissions.mode ?? 0o600), owner: permissions.owner, group: permissions.group)
            created = FileIdentity(device: device, inode: inode)
        } catch  where error.errno == EEXIST {
            throw .storageVolumeExists(definition.name)
        } catch {
            throw Self.systemError("cannot create volume '\(path)'", error)
        }
        do {
            switch format {
            case .raw:
                let full = definition.allocation.map { $0 > 0 && $0 >= definition.capacity } ?? false
                try RawImage.create(
                    path: path, size: definition.capacity, preallocation: full ? .falloc : .off, existingFile: created)
            case .qcow2:
                var options = Qcow2CreateOptions(size: Self.sectorAligned(definition.capacity))
                options.compatibility = definition.compatibility ?? .v3
                options.lazyRefcounts = definition.lazyRefcounts
                options.preallocation = flags.contains(.preallocateMetadata) ? .metadata : .off
                try Qcow2Image.create(path: path, options: options, existingFile: created)
            }
        } catch {
            try? HostFiles.remove(path)
            throw Self.imageError("cannot create volume '\(definition.name)'", error)
        }
    }

    /// Copies the virtual disk, skipping ranges that read as zeroes (the new image already does).
    private static func copy(from source: StorageVolume, to path: String, format: DiskImageFormat)
        throws(DiskImageError)
    {
        // No backing chain: a pool volume never has one, and following a backing file named inside a
        // guest-written disk would copy whatever host file it names into the new volume.
        let input = try DiskImages.open(
            path: source.path, format: source.format, readOnly: true, backingChainLimit: 0, followSymlinks: false)
        let output = try DiskImages.open(path: path, format: format, readOnly: false, followSymlinks: false)
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 4096)
        defer { buffer.deallocate() }
        var offset: UInt64 = 0
        let end = input.virtualSize
        while offset < end {
            let status = try input.blockStatus(at: offset, length: min(end - offset, UInt64(chunk)))
            let length = Int(max(1, min(status.length, UInt64(chunk))))
            if status.kind == .data {
                let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<length])
                try input.read(at: offset, into: slice)
                try output.write(at: offset, from: UnsafeRawBufferPointer(slice))
            }
            offset += UInt64(length)
        }
        try output.flush()
    }

    /// `bytes` rounded up to a 512-byte sector, as qemu-img rounds qcow2 sizes (capped below 2^64).
    static func sectorAligned(_ bytes: UInt64) -> UInt64 {
        let remainder = bytes % 512
        return remainder == 0 ? bytes : bytes - remainder + (bytes > UInt64.max - 512 ? 0 : 512)
    }

    static func imageError(_ what: String, _ error: DiskImageError) -> LibvirtError {
        if case .invalidArgument(let detail) = error { return .invalidArgument("\(what): \(detail)") }
        if case .backingChainTooDeep = error {
            return .operationInvalid(
                "\(what): the image names a backing file, which storage pool volumes never have", domain: .storage)
        }
        return .internalError("\(what): \(error)")
    }
}
