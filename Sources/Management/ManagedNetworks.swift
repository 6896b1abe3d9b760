import DomainXML
import LibvirtProtocol

/// What a client sees of a network.
public struct NetworkStatus: Hashable, Sendable {
    public var name: String
    public var uuid: DomainUUID
    public var active: Bool
    public var persistent: Bool
    public var autostart: Bool
    public var bridgeName: String?

    public var remoteNetwork: RemoteNetwork { RemoteNetwork(name: name, uuid: uuid) }
}

/// How a client names a network.
public enum NetworkKey: Hashable, Sendable {
    case name(String)
    case uuid(DomainUUID)
}

/// libvirt's virtual networks: persistent definitions in a `NetworkStore`, transient ones in memory,
/// and for each active NAT or isolated network a bridge, an nft table and a dnsmasq on the host
/// (`NetworkBridge`, `NetworkFirewall`, `NetworkDHCPServer`). A network with `<forward
/// mode='bridge'/>` has nothing of its own on the host: domains' taps go on the named bridge.
///
/// Active networks outlive the daemon: `open(_:)` re-adopts each one whose bridge is still up and
/// whose dnsmasq still runs (ManagedNetworkRecovery.swift), and runs autostart once per host boot.
public actor ManagedNetworks {
    public struct Configuration: Sendable {
        public var paths: ManagementPaths
        /// Told about what had to be skipped or cleaned up.
        public var notice: @Sendable (String) -> Void = { _ in }

        public init(paths: ManagementPaths) {
            self.paths = paths
        }
    }

    /// One network: its stored definition (nil for a transient network), the definition it runs with
    /// (while active) and its dnsmasq.
    struct Network: Sendable {
        var name: String
        var uuid: DomainUUID
        var persistent: NetworkDefinition?
        var live: NetworkDefinition?
        var autostart = false
        var dhcpServer: DHCPServerProcess?

        var current: NetworkDefinition? { live ?? persistent }

        var status: NetworkStatus {
            NetworkStatus(
                name: name, uuid: uuid, active: live != nil, persistent: persistent != nil, autostart: autostart,
                bridgeName: current?.bridgeName)
        }
    }

    /// `virNetworkCreateFlags` / `virNetworkDefineFlags`: VIR_NETWORK_*_VALIDATE; `virNetworkXMLFlags`:
    /// VIR_NETWORK_XML_INACTIVE.
    static let validateFlag: UInt32 = 1
    static let inactiveXMLFlag: UInt32 = 1
    /// Names tried for a NAT or isolated network without a bridge name: virbr0, virbr1, ...
    static let generatedBridgePrefix = "virbr"
    static let generatedBridgeAttempts = 1024
    /// Network changes run one at a time (they are few and touch shared host state: bridge names,
    /// firewall tables), under this one job.
    static let jobKey = DomainUUID(bytes: [UInt8](repeating: 0, count: DomainUUID.byteCount))!

    let configuration: Configuration
    let store: NetworkStore
    var networks: [DomainUUID: Network] = [:]
    var uuidsByName: [String: DomainUUID] = [:]
    var jobs = DomainJobQueue()

    init(configuration: Configuration) {
        self.configuration = configuration
        self.store = NetworkStore(paths: configuration.paths)
    }

    /// Loads definitions, re-adopts active networks and runs autostart.
    public static func open(_ configuration: Configuration) async throws -> ManagedNetworks {
        let networks = ManagedNetworks(configuration: configuration)
        try await networks.recover()
        return networks
    }

    // MARK: Bookkeeping

    func insert(_ network: Network) {
        networks[network.uuid] = network
        uuidsByName[network.name] = network.uuid
    }

    func remove(_ uuid: DomainUUID) {
        guard let network = networks.removeValue(forKey: uuid) else { return }
        if uuidsByName[network.name] == uuid { uuidsByName[network.name] = nil }
    }

    func existing(_ uuid: DomainUUID) throws(LibvirtError) -> Network {
        guard let network = networks[uuid] else { throw .noNetwork("no network with matching uuid '\(uuid)'") }
        return network
    }

    func withJob<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        if !jobs.tryAcquire(Self.jobKey) {
            await withCheckedContinuation { jobs.enqueue(Self.jobKey, $0) }
        }
        defer { jobs.release(Self.jobKey)?.resume() }
        return try await body()
    }

    /// Refuses a name or UUID another network holds, and a bridge another network creates.
    func checkIdentity(_ definition: NetworkDefinition) throws(LibvirtError) {
        if let owner = uuidsByName[definition.name], owner != definition.uuid {
            throw .operationFailed("network '\(definition.name)' already exists with uuid \(owner)")
        }
        if let existing = networks[definition.uuid], existing.name != definition.name {
            throw .operationFailed("network '\(existing.name)' is already defined with uuid \(definition.uuid)")
        }
        guard definition.ownsBridge, let bridge = definition.bridgeName else { return }
        for other in networks.values where other.uuid != definition.uuid {
            let definitions = [other.persistent, other.live].compactMap { $0 }
            if definitions.contains(where: { $0.ownsBridge && $0.bridgeName == bridge }) {
                throw .operationFailed("bridge name '\(bridge)' is already in use by network '\(other.name)'")
            }
        }
    }

    /// Parses and completes a definition as libvirt does at definition time: a NAT or isolated network
    /// gets a free `virbrN` and a MAC for its bridge, kept from the network's earlier definition if
    /// there is one.
    func parse(_ xml: String) throws -> NetworkDefinition {
        var definition = try NetworkDefinition.parse(xml)
        guard definition.ownsBridge else { return definition }
        let earlier = networks[definition.uuid]?.current
        if definition.bridgeName == nil {
            definition.bridgeName = try earlier?.bridgeName ?? freeBridgeName()
        }
        if definition.macAddress == nil {
            definition.macAddress = earlier?.macAddress ?? .random()
        }
        return definition
    }

    private func freeBridgeName() throws(LibvirtError) -> String {
        let taken = Set(networks.values.flatMap { [$0.persistent?.bridgeName, $0.live?.bridgeName] }.compactMap { $0 })
        for index in 0..<Self.generatedBridgeAttempts {
            let name = Self.generatedBridgePrefix + String(index)
            if !taken.contains(name), !HostNetwork.exists(name) { return name }
        }
        throw .internalError("no free bridge name \(Self.generatedBridgePrefix)N")
    }

    // MARK: Definitions and queries

    public func define(xml: String, flags: UInt32) async throws -> NetworkStatus {
        try LibvirtError.checkFlags(flags, allowed: Self.validateFlag, function: "virNetworkDefineXMLFlags")
        return try await withJob {
            let definition = try parse(xml)
            try checkIdentity(definition)
            try store.save(definition)
            var network = networks[definition.uuid] ?? Network(name: definition.name, uuid: definition.uuid)
            // An active network keeps running its live definition; this one applies from its next start.
            network.persistent = definition
            insert(network)
            return network.status
        }
    }

    public func undefine(_ uuid: DomainUUID) async throws {
        try await withJob {
            var network = try existing(uuid)
            guard network.persistent != nil else {
                throw LibvirtError.operationInvalid("cannot undefine transient network")
            }
            try store.remove(name: network.name)
            network.persistent = nil
            network.autostart = false
            if network.live == nil {
                remove(uuid)
            } else {
                networks[uuid] = network
            }
        }
    }

    public func setAutostart(_ uuid: DomainUUID, _ autostart: Bool) async throws {
        try await withJob {
            var network = try existing(uuid)
            guard network.persistent != nil else {
                throw LibvirtError.operationInvalid("cannot set autostart for transient network")
            }
            try store.setAutostart(network.name, autostart)
            network.autostart = autostart
            networks[uuid] = network
        }
    }

    public func lookup(_ key: NetworkKey) throws -> NetworkStatus {
        switch key {
        case .uuid(let uuid):
            return try existing(uuid).status
        case .name(let name):
            guard let uuid = uuidsByName[name], let network = networks[uuid] else {
                throw LibvirtError.noNetwork("no network with matching name '\(name)'")
            }
            return network.status
        }
    }

    public func list() -> [NetworkStatus] {
        networks.values.map(\.status)
    }

    public func xmlDescription(_ uuid: DomainUUID, flags: UInt32) throws -> String {
        try LibvirtError.checkFlags(flags, allowed: Self.inactiveXMLFlag, function: "virNetworkGetXMLDesc")
        let network = try existing(uuid)
        if flags & Self.inactiveXMLFlag != 0, let persistent = network.persistent { return persistent.xml() }
        guard let definition = network.current else {
            throw LibvirtError.noNetwork("no network with matching uuid '\(uuid)'")
        }
        return definition.xml()
    }

    public func bridgeName(_ uuid: DomainUUID) throws -> String {
        let network = try existing(uuid)
        guard let bridge = network.current?.bridgeName else {
            throw LibvirtError.internalError("network '\(network.name)' does not have a bridge name.")
        }
        return bridge
    }

    /// The bridge a domain's `<interface type='network'>` attaches its tap to: the network must exist
    /// and be active (libvirt's words for both).
    public func bridge(forDomainNetwork name: String) throws -> String {
        let status = try lookup(.name(name))
        guard status.active, let bridge = networks[status.uuid]?.live?.bridgeName else {
            throw LibvirtError.operationInvalid("network '\(name)' is not active")
        }
        return bridge
    }

    // MARK: Lifecycle

    public func start(_ uuid: DomainUUID) async throws {
        try await withJob {
            let network = try existing(uuid)
            guard network.live == nil else { throw LibvirtError.operationInvalid("network is already active") }
            guard let definition = network.persistent else {
                throw LibvirtError.noNetwork("no network with matching uuid '\(uuid)'")
            }
            try await activate(uuid, definition)
        }
    }

    public func createTransient(xml: String, flags: UInt32) async throws -> NetworkStatus {
        try LibvirtError.checkFlags(flags, allowed: Self.validateFlag, function: "virNetworkCreateXMLFlags")
        return try await withJob {
            let definition = try parse(xml)
            try checkIdentity(definition)
            if let existing = networks[definition.uuid], existing.live != nil {
                throw LibvirtError.operationInvalid("network '\(definition.name)' is already active")
            }
            if networks[definition.uuid] == nil { insert(Network(name: definition.name, uuid: definition.uuid)) }
            do {
                try await activate(definition.uuid, definition)
            } catch {
                if let network = networks[definition.uuid], network.persistent == nil { remove(definition.uuid) }
                throw error
            }
            return try existing(definition.uuid).status
        }
    }

    public func destroy(_ uuid: DomainUUID) async throws {
        try await withJob {
            let network = try existing(uuid)
            guard let live = network.live else { throw LibvirtError.operationInvalid("network is not active") }
            // Inactive before the first wait, so no domain starting meanwhile is given the bridge that
            // is about to go (`bridge(forDomainNetwork:)` does not take the job).
            if network.persistent == nil {
                remove(uuid)
            } else {
                networks[uuid]?.live = nil
                networks[uuid]?.dhcpServer = nil
            }
            let problems = await tearDown(
                BuiltParts(live, dhcpServer: network.dhcpServer), files: configuration.paths.networkRunFiles(live.name))
            guard problems.isEmpty else {
                throw LibvirtError.operationFailed(
                    "network '\(live.name)' is stopped, but not all of it could be removed "
                        + "(\(problems.joined(separator: "; "))); the next net-start or daemon start tries again")
            }
        }
    }

    /// Builds the network's host side in order (bridge, firewall, dnsmasq), then records it as active
    /// by writing its live definition. The bridge's name is recorded before the bridge is made and
    /// dnsmasq as soon as it runs, so a daemon that dies on the way leaves the next one a record of what
    /// to remove. Any failure tears down what was built; what an earlier attempt left is removed first.
    func activate(_ uuid: DomainUUID, _ definition: NetworkDefinition) async throws {
        let files = configuration.paths.networkRunFiles(definition.name)
        let leftovers = BuiltParts(records: files)
        if !leftovers.isEmpty {
            let problems = await tearDown(leftovers, files: files)
            guard problems.isEmpty else {
                throw ManagementError.networkSetup(
                    network: definition.name,
                    detail: "what an earlier start left cannot be removed: \(problems.joined(separator: "; "))")
            }
        }
        var built = BuiltParts()
        do throws(NetworkHostError) {
            if let owner = activeOwner(ofBridge: definition) {
                throw NetworkHostError("bridge '\(definition.bridgeName ?? "")' is in use by active network '\(owner)'")
            }
            if definition.ownsBridge, let bridge = definition.bridgeName {
                // Checked before recording it, so a record never names a host interface of someone else.
                guard !HostNetwork.exists(bridge) else {
                    throw NetworkHostError("bridge name '\(bridge)' is already in use by a host interface")
                }
                do {
                    try HostFiles.writeAtomically(files.bridgeRecord, Array((bridge + "\n").utf8))
                } catch {
                    throw NetworkHostError("cannot write \(files.bridgeRecord): \(error)")
                }
            }
            try NetworkBridge.create(for: definition)
            built.bridge = definition.ownsBridge ? definition.bridgeName : nil
            if let firewall = NetworkFirewall(definition) {
                built.firewallTable = firewall.table
                try firewall.install(rulesFile: files.firewallRules, logPath: files.log)
            }
            if let text = try NetworkDHCPServer.configuration(for: definition, files: files) {
                built.dhcpServer = try await NetworkDHCPServer.start(
                    configuration: text, files: files, network: definition.name)
            }
            do {
                try HostFiles.writeAtomically(files.liveDefinition, Array(definition.xml().utf8))
            } catch {
                throw NetworkHostError("cannot write \(files.liveDefinition): \(error)")
            }
        } catch {
            // dnsmasq is recorded from its start, so even a failed start inside `start` is found here.
            if built.dhcpServer == nil { built.dhcpServer = BuiltParts(records: files).dhcpServer }
            let problems = await tearDown(built, files: files)
            let left = problems.isEmpty ? "" : "; left behind: " + problems.joined(separator: "; ")
            throw ManagementError.networkSetup(network: definition.name, detail: error.description + left)
        }
        networks[uuid]?.live = definition
        networks[uuid]?.dhcpServer = built.dhcpServer
    }

    /// What an active network has on the host, for tearing it down.
    struct BuiltParts {
        var bridge: String?
        var firewallTable: String?
        var dhcpServer: DHCPServerProcess?

        init() {}

        init(_ definition: NetworkDefinition, dhcpServer: DHCPServerProcess?) {
            if definition.ownsBridge, let bridge = definition.bridgeName { setBridge(bridge) }
            self.dhcpServer = dhcpServer
        }

        /// What the run records name, whatever state the live definition is in: the bridge (and its
        /// table, named after it) and dnsmasq.
        init(records files: NetworkRunFiles) {
            if let text = HostFiles.readText(files.bridgeRecord, limit: 64), text.hasSuffix("\n"),
                NetworkDefinition.isSafeBridgeName(String(text.dropLast()))
            {
                setBridge(String(text.dropLast()))
            }
            dhcpServer = HostFiles.readText(files.dnsmasqRecord, limit: 256).flatMap(
                DHCPServerProcess.init(recordText:))
        }

        private mutating func setBridge(_ bridge: String) {
            self.bridge = bridge
            firewallTable = NetworkFirewall.tableName(bridge: bridge)
        }

        var isEmpty: Bool { bridge == nil && firewallTable == nil && dhcpServer == nil }

        /// Adds what `other` names that this does not.
        func merging(_ other: BuiltParts) -> BuiltParts {
            var merged = self
            merged.bridge = bridge ?? other.bridge
            merged.firewallTable = firewallTable ?? other.firewallTable
            merged.dhcpServer = dhcpServer ?? other.dhcpServer
            return merged
        }
    }

    /// Stops dnsmasq, removes the firewall table and the bridge, then the run files (the log stays).
    /// Returns what could not be removed; then the run files stay, so a later start, stop or daemon
    /// start can try again.
    @discardableResult
    func tearDown(_ parts: BuiltParts, files: NetworkRunFiles) async -> [String] {
        var problems: [String] = []
        if let server = parts.dhcpServer, !(await server.stop()) {
            problems.append("dnsmasq (pid \(server.pid)) does not stop")
        }
        do throws(NetworkHostError) {
            if let table = parts.firewallTable { try NetworkFirewall.remove(table: table, logPath: files.log) }
        } catch {
            problems.append(error.description)
        }
        do throws(NetworkHostError) {
            if let bridge = parts.bridge { try NetworkBridge.remove(bridge) }
        } catch {
            problems.append(error.description)
        }
        guard problems.isEmpty else { return problems }
        for path in files.transientFiles { try? HostFiles.remove(path) }
        return []
    }

    private func activeOwner(ofBridge definition: NetworkDefinition) -> String? {
        guard definition.ownsBridge else { return nil }
        return networks.values.first {
            $0.uuid != definition.uuid && $0.live?.ownsBridge == true && $0.live?.bridgeName == definition.bridgeName
        }?.name
    }

}
