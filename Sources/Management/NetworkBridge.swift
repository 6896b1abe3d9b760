/// The bridge of a NAT or isolated network, which the daemon creates at network start and deletes at
/// network stop: created (SIOCBRADDBR), given the network's MAC, spanning tree and forward delay
/// (sysfs, as libvirt's virNetDevBridgeSetSTP does), its address, and brought up. IPv4 forwarding is
/// turned on for NAT, as libvirt does, and never turned off again (other things may rely on it).
enum NetworkBridge {
    static let forwardingSwitch = "/proc/sys/net/ipv4/ip_forward"

    /// Creates and configures the bridge; on failure the bridge is deleted again.
    static func create(for definition: NetworkDefinition) throws(NetworkHostError) {
        guard definition.ownsBridge, let name = definition.bridgeName else { return }
        guard !HostNetwork.exists(name) else {
            throw NetworkHostError("bridge name '\(name)' is already in use by a host interface")
        }
        do throws(HostNetworkError) {
            try HostNetwork.createBridge(name)
        } catch {
            throw NetworkHostError(error.description)
        }
        do throws(NetworkHostError) {
            try configure(name, definition)
        } catch {
            try? remove(name)
            throw error
        }
    }

    private static func configure(_ name: String, _ definition: NetworkDefinition) throws(NetworkHostError) {
        do {
            if let mac = definition.macAddress { try HostNetwork.setHardwareAddress(mac.octets, of: name) }
            let attributes = "/sys/class/net/\(name)/bridge/"
            // Centiseconds in sysfs; the delay must be set before STP is turned on to take effect at once.
            try HostFiles.writeExisting(attributes + "forward_delay", "\(definition.forwardDelay * 100)\n")
            try HostFiles.writeExisting(attributes + "stp_state", definition.spanningTree ? "1\n" : "0\n")
            if let ip = definition.ip { try HostNetwork.setAddress(ip.interface, of: name) }
            try HostNetwork.bringUp(name)
            if case .nat = definition.forward { try HostFiles.writeExisting(forwardingSwitch, "1\n") }
        } catch let error as HostNetworkError {
            throw NetworkHostError(error.description)
        } catch {
            throw NetworkHostError("cannot configure bridge '\(name)': \(error)")
        }
    }

    /// Brings the bridge down and deletes it; one that is gone already is fine.
    static func remove(_ name: String) throws(NetworkHostError) {
        guard HostNetwork.exists(name) else { return }
        try? HostNetwork.bringDown(name)
        do throws(HostNetworkError) {
            try HostNetwork.deleteBridge(name)
        } catch {
            throw NetworkHostError(error.description)
        }
    }

    /// Whether the bridge is there with the network's address: what re-adoption checks.
    static func isUp(for definition: NetworkDefinition) -> Bool {
        guard let name = definition.bridgeName, HostNetwork.exists(name) else { return false }
        guard let ip = definition.ip else { return true }
        return HostNetwork.address(of: name) == ip.interface.address
    }
}
