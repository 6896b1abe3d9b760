import DomainXML

#if canImport(Glibc)
    import Glibc
#endif

/// Host networking of a starting domain: for each `<interface type='bridge'>`, and each `<interface
/// type='network'>` on its network's bridge, the daemon creates a tap, gives it the guest's MAC with a host-side first octet, sets its MTU (the bridge's, unless
/// `<mtu>` says otherwise), adds it to the bridge and brings it up, as libvirt does; the VMM inherits
/// the open tap (docs/decisions/0006). The taps are not persistent, so each disappears with the last
/// descriptor on it: when the VMM exits, however it exits, or at once if the start fails.
extension ManagedDomainBackend {
    /// libvirt's prefix for tap names it generates; a `<target dev>` starting with it is treated as
    /// generated (libvirt drops such names from inactive XML), so a redefined `dumpxml` output does
    /// not pin the name a previous run happened to get.
    static let generatedTapPrefix = "vnet"
    /// How many `vnetN` names one interface tries before giving up.
    static let tapNameAttempts = 4096

    /// The bridge of each virtual network `definition`'s interfaces name, by network name. Each
    /// network must exist and be active.
    func networkBridges(_ definition: DomainDefinition) async throws -> [String: String] {
        var bridges: [String: String] = [:]
        for interface in definition.devices.interfaces {
            guard case .network(let network) = interface.connection, bridges[network] == nil else { continue }
            guard let networks = configuration.networks else {
                throw ManagementError.unsupportedConfiguration(
                    "interface type 'network' (network '\(network)') needs the daemon's virtual networks")
            }
            bridges[network] = try await networks.bridge(forDomainNetwork: network)
        }
        return bridges
    }

    /// Creates and connects the taps of `definition`'s bridge and network interfaces, in interface
    /// order (the order `VMMCommandLine` numbers their descriptors in); `networkBridges` gives each
    /// network's bridge. Returns the definition with each such interface's `<target dev>` set to its
    /// tap, for the live XML. On failure every tap made so far is closed, and so removed.
    func connectBridgeInterfaces(
        _ definition: DomainDefinition, networkBridges: [String: String] = [:]
    ) throws(ManagementError) -> (live: DomainDefinition, taps: [TapDevice]) {
        var live = definition
        var taps: [TapDevice] = []
        for (index, interface) in definition.devices.interfaces.enumerated() {
            let bridge: String
            switch interface.connection {
            case .bridge(let name):
                bridge = name
            case .network(let network):
                guard let name = networkBridges[network] else {
                    throw .unsupportedConfiguration("network '\(network)' has no bridge")
                }
                bridge = name
            case .ethernet:
                continue
            }
            let name = interface.targetDevice.flatMap { $0.hasPrefix(Self.generatedTapPrefix) ? nil : $0 }
            if let name, !HostNetwork.isValidName(name) {
                throw .unsupportedConfiguration(
                    "tap name '\(name)' of interface \(interface.macAddress) is not a valid interface name: "
                        + "at most \(HostNetwork.nameCapacity - 1) bytes, without '/', ':' or whitespace")
            }
            do throws(HostNetworkError) {
                // Asked first, so a missing bridge fails the start before anything is created.
                let mtu: Int32
                if let wanted = interface.mtu {
                    mtu = Int32(clamping: wanted)
                } else {
                    mtu = try HostNetwork.mtu(of: bridge)
                }
                let tap: TapDevice
                if let name {
                    tap = try HostNetwork.openTap(name, exclusive: false)
                } else {
                    tap = try openGeneratedTap()
                }
                try HostNetwork.setHardwareAddress(Self.hostSideAddress(interface.macAddress), of: tap.name)
                try HostNetwork.setMTU(mtu, of: tap.name)
                try HostNetwork.addPort(tap.name, toBridge: bridge)
                try HostNetwork.bringUp(tap.name)
                taps.append(tap)
                live.devices.interfaces[index].targetDevice = tap.name
            } catch {
                throw .hostNetwork(error)
            }
        }
        return (live, taps)
    }

    /// A new `vnetN` tap, N counting up across the daemon's life; names in use are skipped, and the
    /// tap is created exclusively so an existing interface is never taken over.
    private func openGeneratedTap() throws(HostNetworkError) -> TapDevice {
        var lastError = HostNetworkError("Unable to create tap device \(Self.generatedTapPrefix)", errno: EBUSY)
        for _ in 0..<Self.tapNameAttempts {
            let name = Self.generatedTapPrefix + String(nextTapIndex)
            nextTapIndex = nextTapIndex >= Int(Int32.max) ? 0 : nextTapIndex + 1
            if HostNetwork.exists(name) { continue }
            do {
                return try HostNetwork.openTap(name, exclusive: true)
            } catch  where error.errno == EBUSY || error.errno == EEXIST {
                lastError = error
            }
        }
        throw lastError
    }

    /// The tap's own MAC: the guest's with the first octet 0xFE (0xFA if it already is 0xFE), as
    /// libvirt does, so the bridge, which takes the lowest port MAC as its own, never takes the guest's.
    static func hostSideAddress(_ guest: MACAddress) -> [UInt8] {
        var octets = guest.octets
        octets[0] = octets[0] == 0xFE ? 0xFA : 0xFE
        return octets
    }
}
