/// Where the management layer keeps things. Persistent state (domain XML, autostart links) lives
/// under `stateDirectory` and survives reboots; everything about running VMMs lives under
/// `runDirectory`, normally a tmpfs that a reboot empties.
public struct ManagementPaths: Hashable, Sendable {
    public var stateDirectory: String
    public var runDirectory: String

    public init(stateDirectory: String = "/etc/swiftvirt", runDirectory: String = "/run/swiftvirt") {
        self.stateDirectory = stateDirectory
        self.runDirectory = runDirectory
    }

    /// `<state>/domains`: one `<name>.xml` per persistent domain.
    public var domainsDirectory: String { stateDirectory + "/domains" }
    /// `<state>/autostart`: `<name>` links to `../domains/<name>.xml` for autostarted domains.
    public var autostartDirectory: String { stateDirectory + "/autostart" }

    /// `<state>/networks`: one `<name>.xml` per persistent network, and `autostart/`.
    public var networksDirectory: String { stateDirectory + "/networks" }

    public func definitionFile(_ name: String) -> String { domainsDirectory + "/" + name + ".xml" }
    public func autostartLink(_ name: String) -> String { autostartDirectory + "/" + name }

    /// `<state>/storage`: one `<name>.xml` per persistent storage pool.
    public var storagePoolsDirectory: String { stateDirectory + "/storage" }
    /// `<state>/storage/autostart`: `<name>` links to `../<name>.xml` for pools started with the daemon.
    public var storageAutostartDirectory: String { storagePoolsDirectory + "/autostart" }
    /// `<run>/storage`: one `<name>.xml` per active pool, so a daemon restart finds them active again.
    public var activeStoragePoolsDirectory: String { runDirectory + "/storage" }
    /// Created once storage pool autostart ran in this boot.
    public var storageAutostartDoneMarker: String { activeStoragePoolsDirectory + "/autostarted" }

    public func storagePoolFile(_ name: String) -> String { storagePoolsDirectory + "/" + name + ".xml" }
    public func storagePoolAutostartLink(_ name: String) -> String { storageAutostartDirectory + "/" + name }
    public func activeStoragePoolFile(_ name: String) -> String {
        activeStoragePoolsDirectory + "/" + name + ".xml"
    }

    /// Created once autostart ran in this boot (run directories are emptied by a reboot), so a daemon
    /// restart does not start again what a user stopped, as libvirtd does.
    public var autostartDoneMarker: String { runDirectory + "/autostarted" }

    public func runFiles(_ name: String) -> DomainRunFiles { DomainRunFiles(directory: runDirectory, name: name) }

    /// `<run>/networks`: the files of active networks.
    public var networkRunDirectory: String { runDirectory + "/networks" }
    /// Created once network autostart ran in this boot.
    public var networkAutostartDoneMarker: String { networkRunDirectory + "/autostarted" }

    public func networkRunFiles(_ name: String) -> NetworkRunFiles {
        NetworkRunFiles(directory: networkRunDirectory, name: name)
    }
}

/// The files of one active network under `<run>/networks`.
public struct NetworkRunFiles: Hashable, Sendable {
    public let directory: String
    public let name: String

    /// The definition the network was started from: its presence is what makes the network active
    /// to the next daemon.
    public var liveDefinition: String { base + ".xml" }
    /// dnsmasq's configuration, written by the daemon.
    public var dnsmasqConfiguration: String { base + ".conf" }
    /// Written by dnsmasq once it serves.
    public var dnsmasqPidFile: String { base + ".pid" }
    /// `DHCPServerRecord`: dnsmasq's pid with its start time and the boot, written by the daemon.
    public var dnsmasqRecord: String { base + ".dnsmasq" }
    public var leases: String { base + ".leases" }
    /// The name of the bridge being or last built, written before it is created: with the dnsmasq
    /// record it tells the next daemon what to remove when the network never became active, or when
    /// its live definition cannot be read.
    public var bridgeRecord: String { base + ".bridge" }
    /// The nft ruleset last installed for the network.
    public var firewallRules: String { base + ".nft" }
    /// dnsmasq's output and the nft command's errors.
    public var log: String { base + ".log" }

    private var base: String { directory + "/" + name }

    /// Everything but the log; the records naming what is on the host go last.
    var transientFiles: [String] {
        [
            liveDefinition, dnsmasqConfiguration, dnsmasqPidFile, leases, firewallRules, dnsmasqRecord,
            bridgeRecord,
        ]
    }
}

/// The files of one running domain under the run directory.
public struct DomainRunFiles: Hashable, Sendable {
    public let directory: String
    public let name: String

    /// The VMM's pid, one decimal line.
    public var pidFile: String { base + ".pid" }
    /// `RuntimeRecord`: what re-adoption needs besides the pid.
    public var stateFile: String { base + ".state" }
    /// The definition the VMM was started from (it may differ from the persistent one).
    public var liveDefinition: String { base + ".xml" }
    /// The VMM's stdout and stderr.
    public var log: String { base + ".log" }
    /// The VMM listens here for the serial console.
    public var serialSocket: String { base + ".serial" }
    /// The VMM listens here for control commands.
    public var controlSocket: String { base + ".ctl" }

    private var base: String { directory + "/" + name }

    /// Everything but the log, which outlives the run for post-mortems.
    var transientFiles: [String] { [pidFile, stateFile, liveDefinition, serialSocket, controlSocket] }
}

/// Which domain and storage pool names can be file names here: the XML parsers already refuse '/'.
enum DefinitionFileName {
    /// Leaves room for the longest suffix under NAME_MAX (255).
    static let maxLength = 200

    /// `kind` names what is named ("domain", "storage pool") in the error.
    static func check(_ name: String, kind: String = "domain") throws(ManagementError) {
        guard !name.hasPrefix(".") else {
            throw .unsupportedName(
                kind: kind, name, "it starts with '.', which SwiftVirt reserves for its own files")
        }
        guard name.utf8.count <= maxLength else {
            throw .unsupportedName(kind: kind, name, "it is longer than \(maxLength) bytes")
        }
        guard !name.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw .unsupportedName(kind: kind, name, "it contains control characters")
        }
    }
}
