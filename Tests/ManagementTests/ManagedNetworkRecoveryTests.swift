import Foundation
import LibvirtProtocol
import Synchronization
import Testing

@testable import Management

/// What a daemon that died in the middle of `net-start` leaves on the host, and how the next one
/// cleans it up. The state is built with the very steps `ManagedNetworks.activate` takes, up to the
/// point of the simulated death; the host side is real (root only, like the other network tests).
@Suite("Virtual networks: leftovers of a daemon that died while starting or stopping a network", .serialized)
struct ManagedNetworkRecoveryTests {
    /// Runs `body` with a fixture and a test network; whatever happens, the network's host side goes.
    func withTestNetwork(_ name: String, _ body: (ManagementFixture, TestNetwork) async throws -> Void) async throws {
        try await withFixture { fixture in
            let network = TestNetwork(fixture, name: name)
            do {
                try await body(fixture, network)
            } catch {
                await network.cleanUp()
                throw error
            }
            await network.cleanUp()
        }
    }

    /// activate's steps up to and including dnsmasq's start, without writing the live definition.
    func buildWithoutLiveRecord(_ network: TestNetwork) async throws {
        let definition = try NetworkDefinition.parse(network.xml())
        let files = network.runFiles
        try HostFiles.writeAtomically(files.bridgeRecord, Array((network.bridge + "\n").utf8))
        try NetworkBridge.create(for: definition)
        let firewall = try #require(NetworkFirewall(definition))
        try firewall.install(rulesFile: files.firewallRules, logPath: files.log)
        let text = try #require(try NetworkDHCPServer.configuration(for: definition, files: files))
        _ = try await NetworkDHCPServer.start(configuration: text, files: files, network: network.name)
    }

    func open(_ fixture: ManagementFixture, notices: NoticeLog) async throws -> ManagedNetworks {
        var configuration = ManagedNetworks.Configuration(paths: fixture.paths)
        configuration.notice = { notices.append($0) }
        return try await ManagedNetworks.open(configuration)
    }

    /// Checks the host side is gone and that the network starts and stops again.
    func expectCleanedUpAndStartable(
        _ fixture: ManagementFixture, _ network: TestNetwork, dnsmasq: Int32, notices: NoticeLog
    ) async throws {
        let networks = try await open(fixture, notices: notices)
        #expect(!interfaceExists(network.bridge))
        #expect(!network.tableExists())
        #expect(await fixture.eventually { !processIsAlive(dnsmasq) })
        for path in network.runFiles.transientFiles { #expect(!fixture.exists(path), "\(path) is left") }

        let status = try await networks.define(xml: network.xml(), flags: 0)
        try await networks.start(status.uuid)
        #expect(network.bridgeAddress() == "\(network.prefix).1")
        #expect(network.tableExists() && network.dnsmasqPID != nil)
        try await networks.destroy(status.uuid)
        #expect(!interfaceExists(network.bridge) && !network.tableExists())
    }

    /// Without a live definition the daemon died while starting; with one that no longer parses, only
    /// the records say what to remove.
    @Test(
        "bridge, nft table and dnsmasq left with no live definition, or an unusable one: the next daemon removes them",
        arguments: [false, true])
    func diedWhileStarting(unusableLiveDefinition: Bool) async throws {
        let name = unusableLiveDefinition ? "svbad" : "svdied"
        try await withTestNetwork(name) { fixture, network in
            let notices = NoticeLog()
            _ = try await open(fixture, notices: notices)
            try await buildWithoutLiveRecord(network)
            let dnsmasq = try #require(network.dnsmasqPID)
            if unusableLiveDefinition {
                try HostFiles.writeAtomically(network.runFiles.liveDefinition, Array("<network><name>".utf8))
            }

            try await expectCleanedUpAndStartable(fixture, network, dnsmasq: dnsmasq, notices: notices)
            let why = unusableLiveDefinition ? "has an unusable live definition" : "did not finish starting"
            #expect(notices.contains("network '\(name)' \(why); removing what is left of it"))
        }
    }

    @Test("net-start removes what an earlier start left before building, instead of failing on the bridge")
    func startRetriesLeftovers() async throws {
        try await withTestNetwork("svretry") { fixture, network in
            let networks = try await open(fixture, notices: NoticeLog())
            let status = try await networks.define(xml: network.xml(), flags: 0)
            // As if a teardown had failed: the records stay, and so does what they name.
            try await buildWithoutLiveRecord(network)
            let dnsmasq = try #require(network.dnsmasqPID)
            try await networks.start(status.uuid)
            #expect(await fixture.eventually { !processIsAlive(dnsmasq) })
            #expect(network.dnsmasqPID != nil && network.dnsmasqPID != dnsmasq)
            #expect(network.bridgeAddress() == "\(network.prefix).1" && network.tableExists())
            try await networks.destroy(status.uuid)
            #expect(!interfaceExists(network.bridge) && !network.tableExists())
        }
    }

    /// dnsmasq is stopped (SIGSTOP), so destroy waits for it for seconds: long enough to look at the
    /// network in the middle of net-destroy.
    @Test("net-destroy makes the network inactive before waiting, so no domain gets the bridge being removed")
    func inactiveWhileStopping() async throws {
        try await withTestNetwork("svstop") { fixture, network in
            let networks = try await open(fixture, notices: NoticeLog())
            let status = try await networks.define(xml: network.xml(), flags: 0)
            try await networks.start(status.uuid)
            #expect(try await networks.bridge(forDomainNetwork: "svstop") == network.bridge)
            let dnsmasq = try #require(network.dnsmasqPID)
            #expect(kill(dnsmasq, SIGSTOP) == 0)

            let destroying = Task { try await networks.destroy(status.uuid) }
            #expect(await fixture.eventually { await (try? networks.lookup(.name("svstop")).active) == false })
            #expect(interfaceExists(network.bridge), "the bridge is still being torn down")
            await #expect {
                try await networks.bridge(forDomainNetwork: "svstop")
            } throws: { ($0 as? LibvirtError)?.message.contains("network 'svstop' is not active") == true }
            try await destroying.value
            #expect(!interfaceExists(network.bridge) && !network.tableExists() && !processIsAlive(dnsmasq))
        }
    }
}

/// Notices a `ManagedNetworks` gave, for checking.
final class NoticeLog: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    func contains(_ line: String) -> Bool { lines.withLock { $0.contains(line) } }
}
