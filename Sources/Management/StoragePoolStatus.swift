import LibvirtProtocol

/// What listings and lookups report about a pool.
public struct StoragePoolStatus: Hashable, Sendable {
    public var name: String
    public var uuid: DomainUUID
    public var isActive: Bool
    public var isPersistent: Bool
    public var autostart: Bool

    public var remote: RemoteStoragePool { RemoteStoragePool(name: name, uuid: uuid) }

    public var filterSubject: ListAllStoragePoolsFlags.Subject {
        ListAllStoragePoolsFlags.Subject(
            active: isActive, persistent: isPersistent, autostart: autostart, type: .dir)
    }
}
