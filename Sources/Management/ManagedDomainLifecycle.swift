import DomainXML
import LibvirtProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// `virDomainCreateFlags` / `virDomainShutdownFlagValues` / `virDomainDestroyFlagsValues` bits
/// (libvirt-domain.h) the backend looks at.
enum LifecycleFlag {
    static let startPaused: UInt32 = 1 << 0
    static let startBypassCache: UInt32 = 1 << 2
    static let startForceBoot: UInt32 = 1 << 3
    /// DOMAIN_CREATE_XML only: VIR_DOMAIN_START_VALIDATE.
    static let startValidate: UInt32 = 1 << 4
    static let shutdownACPIPowerButton: UInt32 = 1 << 0
    static let shutdownSignal: UInt32 = 1 << 3
    /// Every VIR_DOMAIN_SHUTDOWN_* / VIR_DOMAIN_REBOOT_* mode.
    static let shutdownModes: UInt32 = 0x1f
    static let destroyGraceful: UInt32 = 1 << 0
}

extension DomainStateReason {
    /// VIR_DOMAIN_SHUTOFF_CRASHED.
    static let shutoffCrashed: Int32 = 3
    /// VIR_DOMAIN_SHUTOFF_FAILED.
    static let shutoffFailed: Int32 = 6
    /// VIR_DOMAIN_PAUSED_UNKNOWN.
    static let pausedUnknown: Int32 = 0
}

/// The VMM exit codes `swiftvirt run` documents.
enum VMMExitCode {
    /// The guest powered off, or `quit` came over the control socket.
    static let poweredOff: Int32 = 0
    /// The guest did something the VMM cannot continue from (a register dump is in the log).
    static let guestFault: Int32 = 2
    /// The guest asked for a reboot.
    static let rebooted: Int32 = 3
}

extension ManagedDomainBackend {
    // MARK: DomainBackend: lifecycle

    public func start(_ uuid: DomainUUID, flags: UInt32) async throws -> DomainStatus {
        try LibvirtError.checkFlags(
            flags, allowed: LifecycleFlag.startPaused | LifecycleFlag.startBypassCache | LifecycleFlag.startForceBoot,
            function: "virDomainCreateWithFlags")
        return try await withJob(uuid) {
            let domain = try existingDomain(uuid)
            guard domain.vmm == nil else { throw LibvirtError.operationInvalid("domain is already running") }
            guard let definition = domain.persistent else { throw LibvirtError.noDomain(.uuid(uuid)) }
            let (vmm, live) = try await launch(definition, id: takeID(), paused: flags & LifecycleFlag.startPaused != 0)
            recordStarted(uuid, definition: live, vmm: vmm)
            return try existingDomain(uuid).status
        }
    }

    /// Records a VMM `launch` started and reports it: started, then suspended if it starts paused
    /// (libvirt's order).
    private func recordStarted(_ uuid: DomainUUID, definition: DomainDefinition, vmm: RunningVMM) {
        domains[uuid]?.live = definition
        domains[uuid]?.vmm = vmm
        emit(uuid, .startedBooted)
        if vmm.paused { emit(uuid, .suspendedPaused) }
    }

    public func createTransient(xml: String, flags: UInt32) async throws -> DomainStatus {
        try LibvirtError.checkFlags(
            flags,
            allowed: LifecycleFlag.startPaused | LifecycleFlag.startBypassCache | LifecycleFlag.startForceBoot
                | LifecycleFlag.startValidate,
            function: "virDomainCreateXML")
        let definition = try Self.parse(xml)
        try checkIdentity(definition)
        let uuid = definition.uuid
        let isNew = domains[uuid] == nil
        if isNew { insert(Domain(name: definition.name, uuid: uuid, persistent: nil, live: definition)) }
        do {
            return try await withJob(uuid) {
                guard try existingDomain(uuid).vmm == nil else {
                    throw LibvirtError.operationInvalid("domain '\(definition.name)' is already active")
                }
                // An inactive persistent domain of the same name and UUID runs this definition once
                // and stays persistent, as with libvirt.
                let (vmm, live) = try await launch(
                    definition, id: takeID(), paused: flags & LifecycleFlag.startPaused != 0)
                recordStarted(uuid, definition: live, vmm: vmm)
                return try existingDomain(uuid).status
            }
        } catch {
            if isNew, let domain = domains[uuid], domain.vmm == nil, domain.persistent == nil { remove(uuid) }
            throw error
        }
    }

    public func destroy(_ uuid: DomainUUID, flags: UInt32) async throws {
        try LibvirtError.checkFlags(flags, allowed: LifecycleFlag.destroyGraceful, function: "virDomainDestroyFlags")
        try await withJob(uuid) {
            let domain = try existingDomain(uuid)
            guard let vmm = domain.vmm else { throw LibvirtError.operationInvalid("domain is not running") }
            let graceful = flags & LifecycleFlag.destroyGraceful != 0
            let files = configuration.paths.runFiles(domain.name)
            _ = try? await controlClient(files).command("quit")
            var condition = await waitForExit(vmm, timeout: configuration.quitTimeout)
            if condition == .running, !graceful {
                try? HostProcesses.send(SIGKILL, to: vmm.pid)
                condition = await waitForExit(vmm, timeout: .seconds(5))
            }
            guard case .exited = condition else {
                throw LibvirtError.operationFailed(
                    "failed to terminate domain '\(domain.name)' (VMM pid \(vmm.pid))"
                        + (graceful ? ": it did not exit after 'quit'; destroy without --graceful kills it" : ""))
            }
            finishRun(uuid, reason: DomainStateReason.shutoffDestroyed, event: .stoppedDestroyed, note: "destroyed")
        }
    }

    /// The default (ACPI) mode asks the VMM for `powerbutton`: it presses the guest's ACPI power
    /// button and the guest decides (as with libvirt's QEMU driver, the call returns at once and the
    /// domain shuts off when the guest powers off). A VMM that answers `error` (an older one) gives
    /// VIR_ERR_OPERATION_UNSUPPORTED, unless the signal mode was also asked for. The signal mode
    /// (`virsh shutdown --mode signal`, as libvirt's QEMU driver sends SIGTERM) sends `quit`: the VMM
    /// stops the machine and exits 0, and the domain shuts off with reason "shutdown".
    public func shutdown(_ uuid: DomainUUID, flags: UInt32) async throws {
        try LibvirtError.checkFlags(flags, allowed: LifecycleFlag.shutdownModes, function: "virDomainShutdownFlags")
        try await withJob(uuid) {
            let domain = try existingDomain(uuid)
            guard domain.vmm != nil else { throw LibvirtError.operationInvalid("domain is not running") }
            let client = controlClient(configuration.paths.runFiles(domain.name))
            let acpi = flags == 0 || flags & LifecycleFlag.shutdownACPIPowerButton != 0
            let signal = flags & LifecycleFlag.shutdownSignal != 0
            if acpi {
                do throws(VMMControlError) {
                    try await client.command("powerbutton")
                    return
                } catch .refused(_, let reason) {
                    if !signal {
                        throw ManagementError.operationUnsupported(
                            "the VMM cannot press the ACPI power button of '\(domain.name)' (it answered: "
                                + "\(reason)); 'virsh shutdown --mode signal' stops the VMM cleanly, "
                                + "'virsh destroy' at once")
                    }
                } catch {
                    throw ManagementError.control(domain: domain.name, error)
                }
            }
            guard signal else {
                throw ManagementError.operationUnsupported(
                    "shutdown modes other than 'acpi' and 'signal' are not supported by SwiftVirt")
            }
            do throws(VMMControlError) {
                try await client.command("quit")
            } catch {
                throw ManagementError.control(domain: domain.name, error)
            }
            domains[uuid]?.vmm?.hostShutdownRequested = true
        }
    }

    /// Asks the VMM for `reboot`; until it has one, VIR_ERR_OPERATION_UNSUPPORTED with what to do.
    public func reboot(_ uuid: DomainUUID, flags: UInt32) async throws {
        try LibvirtError.checkFlags(flags, allowed: LifecycleFlag.shutdownModes, function: "virDomainReboot")
        try await withJob(uuid) {
            let domain = try existingDomain(uuid)
            guard domain.vmm != nil else { throw LibvirtError.operationInvalid("domain is not running") }
            do throws(VMMControlError) {
                try await controlClient(configuration.paths.runFiles(domain.name)).command("reboot")
            } catch .refused(_, let reason) {
                throw ManagementError.operationUnsupported(
                    "the VMM cannot reboot '\(domain.name)' (it answered: \(reason)); "
                        + "use 'virsh destroy' and 'virsh start'")
            } catch {
                throw ManagementError.control(domain: domain.name, error)
            }
        }
    }

    public func suspend(_ uuid: DomainUUID) async throws {
        try await withJob(uuid) {
            let domain = try existingDomain(uuid)
            guard let vmm = domain.vmm, !vmm.paused else {
                throw LibvirtError.operationInvalid("domain is not running")
            }
            do throws(VMMControlError) {
                try await controlClient(configuration.paths.runFiles(domain.name)).command("pause")
            } catch {
                throw ManagementError.control(domain: domain.name, error)
            }
            domains[uuid]?.vmm?.paused = true
            domains[uuid]?.vmm?.reason = DomainStateReason.pausedUser
            emit(uuid, .suspendedPaused)
        }
    }

    public func resume(_ uuid: DomainUUID) async throws {
        try await withJob(uuid) {
            let domain = try existingDomain(uuid)
            guard let vmm = domain.vmm, vmm.paused else { throw LibvirtError.operationInvalid("domain is not paused") }
            do throws(VMMControlError) {
                try await controlClient(configuration.paths.runFiles(domain.name)).command("resume")
            } catch {
                throw ManagementError.control(domain: domain.name, error)
            }
            domains[uuid]?.vmm?.paused = false
            domains[uuid]?.vmm?.reason = DomainStateReason.runningUnpaused
            emit(uuid, .resumedUnpaused)
        }
    }

    // MARK: VMM processes

    func controlClient(_ files: DomainRunFiles) -> VMMControlClient {
        VMMControlClient(
            socketPath: files.controlSocket, timeoutMilliseconds: Self.milliseconds(configuration.controlTimeout))
    }

    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        return max(1, Int(clamping: seconds) &* 1000 &+ Int(attoseconds / 1_000_000_000_000_000))
    }

    /// Starts a VMM for `definition` and returns once it answers on its control socket, with the
    /// definition it runs (bridge interfaces' taps named). On any failure the process is killed, its
    /// taps go and its run files are removed: a start is all or nothing.
    func launch(
        _ definition: DomainDefinition, id: Int32, paused: Bool
    ) async throws -> (vmm: RunningVMM, live: DomainDefinition) {
        let files = configuration.paths.runFiles(definition.name)
        let commandLine = try VMMCommandLine(definition: definition, files: files)
        for path in commandLine.inputFiles {
            do {
                try HostFiles.checkReadable(path)
            } catch {
                throw ManagementError.inaccessibleFile(path: path, errno: error.errno)
            }
        }
        // The daemon's descriptors on the taps close when `taps` is emptied, right after the spawn (or
        // on any failure before it): from then on the VMM alone keeps them alive.
        let connected = try connectBridgeInterfaces(definition, networkBridges: try await networkBridges(definition))
        let live = connected.live
        var taps = connected.taps
        removeRunFiles(files)
        do {
            try HostFiles.writeAtomically(files.liveDefinition, Array(live.xml().utf8))
        } catch {
            throw ManagementError.system(error)
        }
        let logStart = HostFiles.size(files.log)
        let executable = configuration.vmmExecutable
        HostFiles.append(
            files.log,
            "\(HostProcesses.timestamp()) starting domain '\(definition.name)' (\(definition.uuid)): "
                + ([executable] + commandLine.arguments).map(Self.shellQuoted).joined(separator: " ") + "\n")
        let pid: Int32
        do {
            defer { taps.removeAll() }
            pid = try HostProcesses.spawnDetached(
                executable: executable, arguments: commandLine.arguments, logPath: files.log,
                passing: taps.map(\.descriptor))
        } catch {
            removeRunFiles(files)
            throw ManagementError.startFailed(domain: definition.name, detail: "\(error)")
        }
        var vmm = RunningVMM(
            pid: pid, id: id, processStartTicks: HostProcesses.stat(of: pid)?.startTicks ?? 0,
            startedAt: HostProcesses.now(), paused: false, reason: DomainStateReason.runningBooted)
        do {
            try writeRuntimeRecord(vmm, definition: definition, files: files)
            try await waitUntilAnswering(vmm, name: definition.name, files: files, logStart: logStart)
            if paused {
                do throws(VMMControlError) {
                    try await controlClient(files).command("pause")
                } catch {
                    throw ManagementError.control(domain: definition.name, error)
                }
                vmm.paused = true
                vmm.reason = DomainStateReason.pausedUser
            }
        } catch {
            if HostProcesses.condition(of: vmm.pid, startTicks: vmm.processStartTicks) == .running {
                try? HostProcesses.send(SIGKILL, to: vmm.pid)
                _ = await waitForExit(vmm, timeout: .seconds(5))
            }
            removeRunFiles(files)
            throw error
        }
        return (vmm, live)
    }

    private func writeRuntimeRecord(
        _ vmm: RunningVMM, definition: DomainDefinition, files: DomainRunFiles
    ) throws(ManagementError) {
        let record = RuntimeRecord(
            name: definition.name, uuid: definition.uuid, pid: vmm.pid, id: vmm.id, startedAt: vmm.startedAt,
            processStartTicks: vmm.processStartTicks, bootID: HostProcesses.bootID())
        do {
            try HostFiles.writeAtomically(files.stateFile, record.encoded())
            try HostFiles.writeAtomically(files.pidFile, Array("\(vmm.pid)\n".utf8), mode: 0o644)
        } catch {
            throw .system(error)
        }
    }

    /// Polls the control socket until the VMM answers `status`, it exits, or the start timeout passes.
    /// The deadline is read before each round of checks, so a round that starts after it still runs
    /// whole: a daemon whose tasks were starved past the deadline reports what happened (the VMM
    /// exited, or answered), not a timeout that never was.
    private func waitUntilAnswering(
        _ vmm: RunningVMM, name: String, files: DomainRunFiles, logStart: Int64
    ) async throws(ManagementError) {
        let deadline = ContinuousClock.now + configuration.startTimeout
        let client = controlClient(files)
        while true {
            let expired = ContinuousClock.now >= deadline
            if case .exited(let status) = HostProcesses.condition(of: vmm.pid, startTicks: vmm.processStartTicks) {
                let log = HostFiles.tail(files.log, from: logStart, maxBytes: 2000)
                    .split(separator: "\n").dropFirst().joined(separator: "\n")
                throw .startFailed(
                    domain: name,
                    detail: "the VMM \(status?.description ?? "exited") during start-up"
                        + (log.isEmpty ? "" : ": \(log)"))
            }
            if (try? await client.status()) != nil { return }
            guard !expired else {
                throw .startFailed(
                    domain: name,
                    detail: "the VMM did not answer on \(files.controlSocket) within \(configuration.startTimeout); "
                        + "see \(files.log)")
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Polls until the VMM is gone or `timeout` passes (checking once more after it).
    func waitForExit(_ vmm: RunningVMM, timeout: Duration) async -> ProcessCondition {
        let deadline = ContinuousClock.now + timeout
        while true {
            let expired = ContinuousClock.now >= deadline
            let condition = HostProcesses.condition(of: vmm.pid, startTicks: vmm.processStartTicks)
            if condition != .running || expired { return condition }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Records that a domain's VMM is gone: its run files go (the log stays), a transient domain is
    /// forgotten. `event` tells clients how it stopped.
    func finishRun(_ uuid: DomainUUID, reason: Int32, event: DomainLifecycleEvent, note: String) {
        guard var domain = domains[uuid] else { return }
        let files = configuration.paths.runFiles(domain.name)
        removeRunFiles(files)
        HostFiles.append(files.log, "\(HostProcesses.timestamp()) domain '\(domain.name)' stopped: \(note)\n")
        domain.vmm = nil
        domain.live = nil
        domain.shutoffReason = reason
        if domain.persistent == nil {
            remove(uuid)
        } else {
            domains[uuid] = domain
        }
        emit(domain.status.remoteDomain, .lifecycle(event))
    }

    func removeRunFiles(_ files: DomainRunFiles) {
        for path in files.transientFiles { try? HostFiles.remove(path) }
    }

    /// One pass of the monitor: every running VMM not in the middle of an operation is checked (and
    /// reaped if it is our child).
    func reapExitedVMMs() async {
        for uuid in Array(domains.keys) {
            guard let vmm = domains[uuid]?.vmm, jobs.tryAcquire(uuid) else { continue }
            if case .exited(let status) = HostProcesses.condition(of: vmm.pid, startTicks: vmm.processStartTicks) {
                await vmmExited(uuid, status: status)
            }
            jobs.release(uuid)?.resume()
        }
    }

    /// A VMM ended by itself: the guest powered off, rebooted (exit 3: started again when
    /// `<on_reboot>` is restart) or crashed.
    private func vmmExited(_ uuid: DomainUUID, status: ProcessExitStatus?) async {
        guard let domain = domains[uuid], let vmm = domain.vmm else { return }
        let note = status?.description ?? "the VMM exited"
        if status == .exited(VMMExitCode.rebooted), let definition = domain.live ?? domain.persistent,
            definition.onReboot == .restart
        {
            do {
                let (relaunched, live) = try await launch(definition, id: vmm.id, paused: false)
                domains[uuid]?.vmm = relaunched
                domains[uuid]?.live = live
                // Still running under the same id: libvirt reports a reboot, not a lifecycle change.
                if let restarted = domains[uuid] { emit(restarted.status.remoteDomain, .reboot) }
                return
            } catch {
                configuration.notice("domain '\(domain.name)' rebooted but did not start again: \(error)")
                finishRun(
                    uuid, reason: DomainStateReason.shutoffFailed, event: .stoppedFailed,
                    note: "\(note); restart failed")
                return
            }
        }
        switch status {
        case .exited(VMMExitCode.poweredOff)?, .exited(VMMExitCode.rebooted)?:
            // As libvirt's QEMU driver: the guest finished shutting down, then the machine stopped.
            emit(uuid, vmm.hostShutdownRequested ? .shutdownHost : .shutdownFinished)
            finishRun(uuid, reason: DomainStateReason.shutoffShutdown, event: .stoppedShutdown, note: note)
        case .exited(VMMExitCode.guestFault)?:
            finishRun(uuid, reason: DomainStateReason.shutoffCrashed, event: .stoppedCrashed, note: note)
        case nil:
            // Not our child (re-adopted): how it ended was not seen.
            finishRun(uuid, reason: DomainStateReason.shutoffUnknown, event: .stoppedFailed, note: note)
        default:
            // Killed, or an exit the VMM does not document: the emulator failed (libvirt's EOF case).
            finishRun(uuid, reason: DomainStateReason.shutoffCrashed, event: .stoppedFailed, note: note)
        }
    }

    /// Quotes an argument for the log line, so it can be pasted into a shell.
    static func shellQuoted(_ argument: String) -> String {
        let plain = argument.unicodeScalars.allSatisfy {
            ($0.value >= 0x30 && $0.value <= 0x39) || ($0.value >= 0x41 && $0.value <= 0x5a)
                || ($0.value >= 0x61 && $0.value <= 0x7a) || "-_./=,:@%+".unicodeScalars.contains($0)
        }
        if plain && !argument.isEmpty { return argument }
        var quoted = "'"
        for character in argument {
            quoted += character == "'" ? "'\\''" : String(character)
        }
        return quoted + "'"
    }

    /// Refreshes a running domain's paused/running state from its VMM (someone else may have paused
    /// it over the control socket). Skipped while an operation holds the domain.
    func refreshRunState(_ uuid: DomainUUID) async throws {
        let domain = try existingDomain(uuid)
        guard domain.vmm != nil, jobs.tryAcquire(uuid) else { return }
        defer { jobs.release(uuid)?.resume() }
        guard let state = try? await controlClient(configuration.paths.runFiles(domain.name)).status(),
            let vmm = domains[uuid]?.vmm
        else { return }
        let paused = state == .paused
        if paused != vmm.paused {
            domains[uuid]?.vmm?.paused = paused
            domains[uuid]?.vmm?.reason = paused ? DomainStateReason.pausedUnknown : DomainStateReason.runningUnpaused
            emit(uuid, paused ? .suspendedPaused : .resumedUnpaused)
        }
    }
}
