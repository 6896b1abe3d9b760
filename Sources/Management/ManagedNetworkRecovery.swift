import LibvirtProtocol

/// Start-up: what survived the previous daemon. Persistent definitions come from the store. Each
/// `<run>/networks/<name>.xml` names a network that was active: it is re-adopted if its host side is
/// intact (a daemon-owned bridge is up with its address, and its dnsmasq, if it has one, is the
/// recorded process of this boot), and its firewall table is installed again in case the host's
/// ruleset was flushed meanwhile. Otherwise whatever is left of it is removed and it counts as
/// inactive: what the definition names and what the bridge and dnsmasq records name, which also
/// covers a network whose start the previous daemon did not finish (records but no `.xml`) and one
/// whose live definition cannot be read. Then autostart networks start, once per host boot.
extension ManagedNetworks {
    func recover() async throws {
        let paths = configuration.paths
        try store.prepare()
        do {
            try HostFiles.makeDirectories(paths.runDirectory, mode: 0o700)
            try HostFiles.makeDirectories(paths.networkRunDirectory, mode: 0o700)
        } catch {
            throw ManagementError.system(error)
        }
        let (stored, problems) = store.loadAll()
        for problem in problems { configuration.notice(problem) }
        for entry in stored {
            insert(
                Network(
                    name: entry.definition.name, uuid: entry.definition.uuid, persistent: entry.definition,
                    autostart: entry.autostart))
        }
        await readoptActiveNetworks()
        await autostartOncePerBoot()
    }

    private func readoptActiveNetworks() async {
        let directory = configuration.paths.networkRunDirectory
        guard let names = try? HostFiles.list(directory) else { return }
        var networkNames = Set<String>()
        for fileName in names where !fileName.hasPrefix(".") {
            for suffix in [".xml", ".bridge", ".dnsmasq"] where fileName.hasSuffix(suffix) {
                networkNames.insert(String(fileName.dropLast(suffix.count)))
            }
        }
        for name in networkNames.sorted() { await readopt(name: name) }
        for fileName in names where HostFiles.isTemporaryName(fileName) {
            try? HostFiles.remove(directory + "/" + fileName)
        }
    }

    private func readopt(name: String) async {
        let files = configuration.paths.networkRunFiles(name)
        let recorded = BuiltParts(records: files)
        guard HostFiles.exists(files.liveDefinition) else {
            configuration.notice("network '\(name)' did not finish starting; removing what is left of it")
            await tearDownLeftovers(name, recorded, files: files)
            return
        }
        guard let text = HostFiles.readText(files.liveDefinition, limit: RPCLimits.maxStringLength),
            let definition = try? NetworkDefinition.parse(text), definition.name == name
        else {
            configuration.notice("network '\(name)' has an unusable live definition; removing what is left of it")
            await tearDownLeftovers(name, recorded, files: files)
            return
        }
        let dhcpServer = recorded.dhcpServer
        let parts = BuiltParts(definition, dhcpServer: dhcpServer).merging(recorded)
        var problem: String?
        if let owner = uuidsByName[name], owner != definition.uuid {
            problem = "that name now belongs to network \(owner)"
        } else if definition.ownsBridge, !NetworkBridge.isUp(for: definition) {
            problem = "its bridge '\(definition.bridgeName ?? "")' is gone or lost its address"
        } else if NetworkDHCPServer.servesDHCP(definition), dhcpServer?.isRunning != true {
            problem = "its dnsmasq is no longer running"
        } else if let firewall = NetworkFirewall(definition) {
            do {
                try firewall.install(rulesFile: files.firewallRules, logPath: files.log)
            } catch {
                problem = "its firewall rules cannot be installed again: \(error)"
            }
        }
        if let problem {
            configuration.notice("not re-adopting network '\(name)': \(problem); removing what is left of it")
            await tearDownLeftovers(name, parts, files: files)
            return
        }
        var network = networks[definition.uuid] ?? Network(name: name, uuid: definition.uuid)
        network.live = definition
        network.dhcpServer = dhcpServer
        insert(network)
    }

    private func tearDownLeftovers(_ name: String, _ parts: BuiltParts, files: NetworkRunFiles) async {
        let problems = await tearDown(parts, files: files)
        if !problems.isEmpty {
            configuration.notice(
                "network '\(name)': \(problems.joined(separator: "; ")); its run files stay for the next attempt")
        }
    }

    private func autostartOncePerBoot() async {
        let marker = configuration.paths.networkAutostartDoneMarker
        guard HostProcesses.firstTimeThisBoot(marker: marker, notice: configuration.notice) else { return }
        let candidates = networks.values.filter { $0.autostart && $0.persistent != nil && $0.live == nil }
        for network in candidates.sorted(by: { $0.name < $1.name }) {
            do {
                try await start(network.uuid)
            } catch {
                configuration.notice("autostart of network '\(network.name)' failed: \(error)")
            }
        }
    }
}
