/// The nftables rules of a NAT or isolated network, in a table of their own (`table ip
/// swiftvirt_<bridge>`), so installing replaces exactly that table and removing it removes every rule
/// the network added, whatever else the host's firewall holds (docs/decisions/0008). The rules are
/// libvirt's in nftables words: guests' traffic leaving the subnet is masqueraded, replies come back
/// in, bridge-local traffic passes, and anything else to or from the bridge is rejected.
///
/// The ruleset text is built only from validated values (a bridge name of letters, digits, '_', '-'
/// and '.', parsed addresses and numbers), so nothing from a definition can add a rule of its own.
struct NetworkFirewall: Hashable, Sendable {
    static let nftExecutable = "/usr/sbin/nft"
    /// libvirt's default source port range for masquerading TCP and UDP.
    static let defaultMasqueradePorts: ClosedRange<UInt16> = 1024...65535

    let table: String
    let ruleset: String

    /// nil for a network whose bridge the daemon does not own (forward mode bridge).
    init?(_ definition: NetworkDefinition) {
        guard definition.ownsBridge, let bridge = definition.bridgeName else { return nil }
        table = Self.tableName(bridge: bridge)
        var postrouting: [String] = []
        var forward = ["iifname \"\(bridge)\" oifname \"\(bridge)\" accept"]
        if case .nat(let device, let ports) = definition.forward, let ip = definition.ip {
            let subnet = ip.interface.subnet
            let out = device.map { " oifname \"\($0)\"" } ?? ""
            let into = device.map { " iifname \"\($0)\"" } ?? ""
            let range = ports ?? Self.defaultMasqueradePorts
            postrouting = [
                // Multicast and broadcast stay on the bridge, unmasqueraded (as libvirt's rules do).
                "ip saddr \(subnet) ip daddr 224.0.0.0/24 return",
                "ip saddr \(subnet) ip daddr 255.255.255.255 return",
                "ip saddr \(subnet) ip daddr != \(subnet)\(out) meta l4proto { tcp, udp } "
                    + "masquerade to :\(range.lowerBound)-\(range.upperBound)",
                "ip saddr \(subnet) ip daddr != \(subnet)\(out) masquerade",
            ]
            forward += [
                "iifname \"\(bridge)\" ip saddr \(subnet)\(out) accept",
                "oifname \"\(bridge)\" ip daddr \(subnet)\(into) ct state established,related accept",
            ]
        }
        forward += ["iifname \"\(bridge)\" reject", "oifname \"\(bridge)\" reject"]

        // Declaring the table first makes the delete succeed when it does not exist yet, so one
        // `nft -f` replaces the table atomically.
        var text = "table ip \(table) {}\ndelete table ip \(table)\ntable ip \(table) {\n"
        if !postrouting.isEmpty {
            text += "\tchain postrouting {\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
            text += postrouting.map { "\t\t\($0)\n" }.joined() + "\t}\n"
        }
        text += "\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n"
        text += forward.map { "\t\t\($0)\n" }.joined() + "\t}\n}\n"
        ruleset = text
    }

    /// "swiftvirt_virbr0": nft identifiers take letters, digits, '_', '-', '.' and '/', so a safe
    /// bridge name can follow the prefix as is.
    static func tableName(bridge: String) -> String { "swiftvirt_" + bridge }

    /// Installs (or replaces) the table; `rulesFile` is written first so `nft -f` reads it.
    func install(rulesFile: String, logPath: String) throws(NetworkHostError) {
        do {
            try HostFiles.writeAtomically(rulesFile, Array(ruleset.utf8))
        } catch {
            throw NetworkHostError("cannot write \(rulesFile): \(error)")
        }
        try Self.nft(["-f", rulesFile], logPath: logPath)
    }

    /// Removes a network's table; one that is not there is not an error.
    static func remove(table: String, logPath: String) throws(NetworkHostError) {
        guard exists(table: table) else { return }
        try nft(["delete", "table", "ip", table], logPath: logPath)
    }

    static func exists(table: String) -> Bool {
        (try? nft(["list", "table", "ip", table], logPath: "/dev/null")) != nil
    }

    private static func nft(_ arguments: [String], logPath: String) throws(NetworkHostError) {
        let logStart = HostFiles.size(logPath)
        let status: ProcessExitStatus
        do {
            status = try HostProcesses.run(executable: nftExecutable, arguments: arguments, logPath: logPath)
        } catch {
            throw NetworkHostError("cannot run \(nftExecutable) (install the nftables package): \(error)")
        }
        guard status == .exited(0) else {
            let output = HostFiles.tail(logPath, from: logStart, maxBytes: 2000)
            throw NetworkHostError("nft \(arguments.joined(separator: " ")) \(status): \(output)")
        }
    }
}

/// A step of a network's host side that failed, in a sentence for the user.
struct NetworkHostError: Error, Hashable, Sendable, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
