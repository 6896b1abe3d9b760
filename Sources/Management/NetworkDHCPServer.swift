#if canImport(Glibc)
    import Glibc
#endif

/// dnsmasq serving DHCP (and DNS) on one network's bridge, as libvirt runs it: one process per
/// network, bound only to the bridge's address (`bind-dynamic` + `interface=`), reading only the
/// configuration the daemon writes (`--conf-file`). It runs in the foreground of its own session,
/// so it outlives a daemon restart like a VMM does and the next daemon re-adopts it by pid and start
/// time (`DHCPServerProcess`).
struct NetworkDHCPServer: Sendable {
    static let dnsmasqExecutable = "/usr/sbin/dnsmasq"
    /// How long dnsmasq has to write its pid file (it does once its sockets are bound, within
    /// milliseconds; the margin is for a host under heavy load).
    static let startTimeout: Duration = .seconds(30)
    static let stopTimeout: Duration = .seconds(3)

    /// Whether the network runs a dnsmasq.
    static func servesDHCP(_ definition: NetworkDefinition) -> Bool {
        definition.ownsBridge && definition.bridgeName != nil && definition.ip?.servesDHCP == true
    }

    /// The configuration file for `definition`, or nil if it serves no DHCP. Every line is built from
    /// validated values (a safe bridge name, parsed addresses and MACs, RFC 1123 host names) and paths
    /// under the run directory; a path with a line break is refused, so no value can add a line.
    static func configuration(
        for definition: NetworkDefinition, files: NetworkRunFiles
    ) throws(NetworkHostError) -> String? {
        guard servesDHCP(definition), let bridge = definition.bridgeName, let ip = definition.ip else { return nil }
        for path in [files.dnsmasqPidFile, files.leases] where path.contains(where: \.isNewline) {
            throw NetworkHostError("the run directory path \(path) contains a line break")
        }
        let netmask = ip.interface.netmask
        var lines = [
            "# Written by swiftvirtd for network \(definition.uuid); it is rewritten at each start.",
            "strict-order",
            "except-interface=lo",
            "bind-dynamic",
            "interface=\(bridge)",
            "keep-in-foreground",
            "log-facility=-",
            "pid-file=\(files.dnsmasqPidFile)",
            "dhcp-leasefile=\(files.leases)",
            "dhcp-no-override",
            "dhcp-authoritative",
        ]
        var leaseCount: UInt64 = 0
        for range in ip.dhcpRanges {
            lines.append("dhcp-range=\(range.lowerBound),\(range.upperBound),\(netmask)")
            leaseCount += UInt64(range.upperBound.value - range.lowerBound.value) + 1
        }
        if ip.dhcpRanges.isEmpty {
            // Static leases only: dnsmasq needs a range marked static for the subnet.
            lines.append("dhcp-range=\(ip.interface.network),static,\(netmask)")
        }
        for host in ip.dhcpHosts {
            lines.append("dhcp-host=\(host.macAddress),\(host.address)" + (host.hostName.map { "," + $0 } ?? ""))
        }
        leaseCount += UInt64(ip.dhcpHosts.count)
        lines.append("dhcp-lease-max=\(max(leaseCount, 1))")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the configuration and starts dnsmasq, records it at once (so a daemon that dies while
    /// dnsmasq starts leaves a record of what to stop), and returns once it has written its pid file.
    /// On any failure nothing is left running.
    static func start(
        configuration: String, files: NetworkRunFiles, network: String
    ) async throws(NetworkHostError) -> DHCPServerProcess {
        do {
            try HostFiles.remove(files.dnsmasqPidFile)
            try HostFiles.writeAtomically(files.dnsmasqConfiguration, Array(configuration.utf8), mode: 0o644)
        } catch {
            throw NetworkHostError("cannot write \(files.dnsmasqConfiguration): \(error)")
        }
        let logStart = HostFiles.size(files.log)
        let pid: Int32
        do {
            pid = try HostProcesses.spawnDetached(
                executable: dnsmasqExecutable, arguments: ["--conf-file=" + files.dnsmasqConfiguration],
                logPath: files.log)
        } catch {
            throw NetworkHostError("cannot start \(dnsmasqExecutable) (install dnsmasq-base): \(error)")
        }
        let process = DHCPServerProcess(
            pid: pid, startTicks: HostProcesses.stat(of: pid)?.startTicks ?? 0, bootID: HostProcesses.bootID())
        do {
            try HostFiles.writeAtomically(files.dnsmasqRecord, Array(process.recordText.utf8))
        } catch {
            await process.stop()
            throw NetworkHostError("cannot write \(files.dnsmasqRecord): \(error)")
        }
        // The deadline is checked after a whole round of checks, never instead of one: a daemon starved
        // by load (a sleep that overslept the deadline) still sees a dnsmasq that did start.
        let deadline = ContinuousClock.now + startTimeout
        while true {
            if case .exited(let status) = HostProcesses.condition(of: pid, startTicks: nil) {
                let output = HostFiles.tail(files.log, from: logStart, maxBytes: 2000)
                throw NetworkHostError(
                    "dnsmasq \(status.map { "\($0)" } ?? "exited"): \(output.isEmpty ? "no output" : output)")
            }
            if HostFiles.readText(files.dnsmasqPidFile, limit: 64)?.filter(\.isNumber) == String(pid) {
                return process
            }
            guard ContinuousClock.now < deadline else { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        await process.stop()
        throw NetworkHostError("dnsmasq for network '\(network)' did not start serving in time; see \(files.log)")
    }
}

/// A running dnsmasq: its pid with its start time (so a recycled pid is never taken for it) and the
/// boot it ran in.
struct DHCPServerProcess: Hashable, Sendable {
    var pid: Int32
    var startTicks: UInt64
    var bootID: String

    /// "PID START_TICKS BOOT_ID\n", what `<run>/networks/<name>.dnsmasq` holds.
    var recordText: String { "\(pid) \(startTicks) \(bootID)\n" }

    init(pid: Int32, startTicks: UInt64, bootID: String) {
        self.pid = pid
        self.startTicks = startTicks
        self.bootID = bootID
    }

    init?(recordText text: String) {
        let fields = text.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count == 3, let pid = Int32(fields[0]), pid > 1, let ticks = UInt64(fields[1]),
            fields[2].hasSuffix("\n")
        else { return nil }
        self.init(pid: pid, startTicks: ticks, bootID: String(fields[2].dropLast()))
    }

    /// Whether this very process still runs (in this boot).
    var isRunning: Bool {
        bootID == HostProcesses.bootID() && HostProcesses.condition(of: pid, startTicks: startTicks) == .running
    }

    /// SIGTERM, then SIGKILL if it lingers; whether it is gone.
    @discardableResult
    func stop() async -> Bool {
        guard isRunning else { return true }
        try? HostProcesses.send(SIGTERM, to: pid)
        let deadline = ContinuousClock.now + NetworkDHCPServer.stopTimeout
        while ContinuousClock.now < deadline {
            if !isRunning { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        try? HostProcesses.send(SIGKILL, to: pid)
        for _ in 0..<100 where isRunning { try? await Task.sleep(for: .milliseconds(20)) }
        return !isRunning
    }
}
