import DomainXML
import LibvirtProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// Start-up: what survived the previous daemon. Persistent definitions come from the store; each
/// `<run>/<name>.pid` whose process is the one recorded (same pid, start time and boot) and answers
/// `status` on its control socket is re-adopted with its old id; anything else in the run directory is
/// stale and removed. A host reboot empties the run directory (or changes the boot id), so domains
/// that were running come back shut off, and autostart runs once per boot.
extension ManagedDomainBackend {
    /// How often a live VMM's control socket is asked before it is declared unresponsive.
    static let adoptionAttempts = 3

    func recover() async throws {
        let paths = configuration.paths
        try store.prepare()
        do {
            try HostFiles.makeDirectories(paths.runDirectory, mode: 0o700)
        } catch {
            throw ManagementError.system(error)
        }
        let (stored, problems) = store.loadAll()
        for problem in problems { configuration.notice(problem) }
        for entry in stored {
            insert(
                Domain(
                    name: entry.definition.name, uuid: entry.definition.uuid, persistent: entry.definition,
                    autostart: entry.autostart))
        }
        await readoptRunningVMMs()
        removeOrphanRunFiles()
        await autostartOncePerBoot()
    }

    private func readoptRunningVMMs() async {
        let runDirectory = configuration.paths.runDirectory
        let names: [String]
        do {
            names = try HostFiles.list(runDirectory)
        } catch {
            configuration.notice("cannot list \(runDirectory): \(error)")
            return
        }
        let bootID = HostProcesses.bootID()
        for fileName in names.sorted() where fileName.hasSuffix(".pid") && !fileName.hasPrefix(".") {
            await readopt(name: String(fileName.dropLast(".pid".count)), bootID: bootID)
        }
    }

    /// Re-adopts one VMM, or explains why not and cleans up after it.
    private func readopt(name: String, bootID: String) async {
        let files = configuration.paths.runFiles(name)
        let record: RuntimeRecord
        do {
            let bytes = try HostFiles.read(files.stateFile, limit: RuntimeRecord.maxFileSize)
            record = try RuntimeRecord(decoding: bytes)
        } catch {
            return discardStale(files, because: "its runtime record is unusable (\(error))")
        }
        let pidText = HostFiles.readText(files.pidFile, limit: 64)?.filter { !$0.isWhitespace }
        guard record.name == name, pidText == String(record.pid) else {
            return discardStale(files, because: "its pid file and runtime record disagree")
        }
        guard record.bootID == bootID else { return discardStale(files, because: "it ran before the host rebooted") }
        let vmm = RunningVMM(
            pid: record.pid, id: record.id, processStartTicks: record.processStartTicks, startedAt: record.startedAt,
            paused: false, reason: DomainStateReason.runningBooted)
        guard HostProcesses.condition(of: vmm.pid, startTicks: vmm.processStartTicks) == .running else {
            finishedWhileAway(record)
            return discardStale(files, because: "its VMM (pid \(record.pid)) is no longer running")
        }

        var state: VMMControlClient.RunState?
        for attempt in 0..<Self.adoptionAttempts {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(100)) }
            if let answer = try? await controlClient(files).status() {
                state = answer
                break
            }
        }
        guard let state else {
            // Ours (pid, start time and boot match) but deaf: libvirtd kills a QEMU it cannot reconnect
            // to, rather than leave a VM nobody can manage holding its disks.
            try? HostProcesses.send(SIGKILL, to: vmm.pid)
            _ = await waitForExit(vmm, timeout: .seconds(2))
            reportStoppedWhileAway(record)
            return discardStale(files, because: "its VMM (pid \(record.pid)) did not answer on its control socket")
        }

        let stored = domains[record.uuid]
        let live = HostFiles.readText(files.liveDefinition, limit: RPCLimits.maxStringLength)
        guard let definition = (live.flatMap { try? DomainDefinition.parse($0) }) ?? stored?.persistent,
            definition.uuid == record.uuid, definition.name == name
        else {
            configuration.notice(
                "not re-adopting '\(name)' (pid \(record.pid)): no usable definition in \(files.liveDefinition)")
            return
        }
        if let owner = uuidsByName[name], owner != record.uuid {
            configuration.notice(
                "not re-adopting '\(name)' (pid \(record.pid)): that name now belongs to domain \(owner)")
            return
        }
        var domain = stored ?? Domain(name: name, uuid: record.uuid, persistent: nil)
        domain.live = definition
        domain.vmm = vmm
        domain.vmm?.paused = state == .paused
        domain.vmm?.reason = state == .paused ? DomainStateReason.pausedUnknown : DomainStateReason.runningBooted
        insert(domain)
        if record.id >= nextID { nextID = record.id == Int32.max ? 1 : record.id + 1 }
    }

    /// A persistent domain whose VMM ended while no daemon watched shows as shut off; its reason is
    /// unknown, since nobody saw the exit.
    private func finishedWhileAway(_ record: RuntimeRecord) {
        domains[record.uuid]?.shutoffReason = DomainStateReason.shutoffUnknown
        reportStoppedWhileAway(record)
    }

    /// A domain that was running when the last daemon stopped is not any more: clients hear that it
    /// stopped (how, nobody saw), as for a VMM that fails. A transient domain is gone already.
    private func reportStoppedWhileAway(_ record: RuntimeRecord) {
        let domain = RemoteDomain(name: record.name, uuid: record.uuid, id: -1)
        emit(domain, .lifecycle(.stoppedFailed))
    }

    private func discardStale(_ files: DomainRunFiles, because reason: String) {
        configuration.notice("cleaning up stale run files of '\(files.name)': \(reason)")
        removeRunFiles(files)
    }

    /// Sockets, records and live definitions with no adopted VMM behind them (left by a start that
    /// was interrupted) are removed; logs stay.
    private func removeOrphanRunFiles() {
        let runDirectory = configuration.paths.runDirectory
        guard let names = try? HostFiles.list(runDirectory) else { return }
        let running = Set(domains.values.filter { $0.vmm != nil }.map(\.name))
        for fileName in names {
            for suffix in [".pid", ".state", ".xml", ".ctl", ".serial"] where fileName.hasSuffix(suffix) {
                let name = String(fileName.dropLast(suffix.count))
                if !running.contains(name), !fileName.hasPrefix(".") {
                    try? HostFiles.remove(runDirectory + "/" + fileName)
                }
            }
            if HostFiles.isTemporaryName(fileName) { try? HostFiles.remove(runDirectory + "/" + fileName) }
        }
    }

    /// Starts autostart domains, once per host boot: the marker lives in the run directory.
    private func autostartOncePerBoot() async {
        guard
            HostProcesses.firstTimeThisBoot(
                marker: configuration.paths.autostartDoneMarker, notice: configuration.notice)
        else { return }
        let candidates = domains.values.filter { $0.autostart && $0.persistent != nil && $0.vmm == nil }
        for domain in candidates.sorted(by: { $0.name < $1.name }) {
            do {
                _ = try await start(domain.uuid, flags: 0)
            } catch {
                configuration.notice("autostart of '\(domain.name)' failed: \(error)")
            }
        }
    }
}
