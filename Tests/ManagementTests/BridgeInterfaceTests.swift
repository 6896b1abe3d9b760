import DomainXML
import Foundation
import LibvirtProtocol
import Synchronization
import Testing

@testable import Management

/// A Linux bridge made for one test with `ip` (tests may shell out; the daemon does not), deleted by
/// `remove()`. Names are unique per process and test so parallel tests and runs do not meet.
struct TestBridge {
    private static let counter = Atomic<Int>(0)

    let name: String

    /// "svbr<pid>x<n>": at most 15 bytes for a pid up to 7 digits.
    static func uniqueName(_ prefix: String) -> String {
        let number = counter.add(1, ordering: .relaxed).newValue
        return "\(prefix)\(getpid())x\(number)"
    }

    init(mtu: Int) async throws {
        name = Self.uniqueName("svbr")
        try await Self.ip(["link", "add", name, "type", "bridge"])
        try await Self.ip(["link", "set", name, "mtu", String(mtu)])
    }

    func remove() async {
        _ = try? await Self.ip(["link", "del", name])
    }

    /// Runs `body` with a new bridge, deleted afterwards whatever happens.
    static func with(mtu: Int, _ body: (TestBridge) async throws -> Void) async throws {
        let bridge = try await TestBridge(mtu: mtu)
        do {
            try await body(bridge)
        } catch {
            await bridge.remove()
            throw error
        }
        await bridge.remove()
    }

    static func ip(_ arguments: [String]) async throws {
        let result = try await run("/usr/sbin/ip", arguments, environment: [:])
        guard result.status == 0 else {
            throw POSIXError(.EIO, userInfo: [NSLocalizedDescriptionKey: "ip \(arguments): \(result.error)"])
        }
    }
}

/// What /sys/class/net says about an interface.
func interfaceExists(_ name: String) -> Bool {
    FileManager.default.fileExists(atPath: "/sys/class/net/\(name)")
}

func interfaceAttribute(_ name: String, _ attribute: String) -> String? {
    (try? String(contentsOfFile: "/sys/class/net/\(name)/\(attribute)", encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines)
}

/// The bridge an interface is a port of (/sys/class/net/NAME/master → ../BRIDGE).
func interfaceMaster(_ name: String) -> String? {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/sys/class/net/\(name)/master"))
        .map { URL(fileURLWithPath: $0).lastPathComponent }
}

@Suite("Bridge interfaces: taps on real host bridges, with the fake VMM", .serialized)
struct BridgeInterfaceTests {
    /// The `<target dev>` of each interface in live XML, in order.
    static func targetDevices(_ xml: String) throws -> [String] {
        try DomainDefinition.parse(xml).devices.interfaces.compactMap(\.targetDevice)
    }

    @Test("each bridge interface gets a tap on its bridge while the domain runs; destroy and a dying VMM remove it")
    func tapLifecycle() async throws {
        try await TestBridge.with(mtu: 1400) { bridge in
            try await withFixture { fixture in
                let named = TestBridge.uniqueName("svtp")
                let backend = try await fixture.open()
                let devices = """
                    <interface type='bridge'><mac address='52:54:00:10:00:01'/><source bridge='\(bridge.name)'/>
                      <target dev='vnet7'/><model type='virtio'/></interface>
                    <interface type='bridge'><mac address='52:54:00:10:00:02'/><source bridge='\(bridge.name)'/>
                      <target dev='\(named)'/><model type='virtio'/><mtu size='1300'/></interface>
                    """
                let defined = try await backend.define(xml: fixture.xml(name: "alpha", devices: devices), flags: 0)
                _ = try await backend.start(defined.uuid, flags: 0)

                // dumpxml shows the taps; a vnet name in the definition is treated as generated.
                let taps = try Self.targetDevices(try await backend.xmlDescription(defined.uuid, flags: []))
                #expect(taps.count == 2 && taps[0].hasPrefix("vnet") && taps[1] == named, "\(taps)")
                let inactive = try await backend.xmlDescription(defined.uuid, flags: .inactive)
                #expect(try Self.targetDevices(inactive) == ["vnet7", named])
                for tap in taps {
                    #expect(interfaceMaster(tap) == bridge.name, "\(tap)")
                    let flags = interfaceAttribute(tap, "flags").flatMap { UInt32($0.dropFirst(2), radix: 16) } ?? 0
                    #expect(flags & 1 == 1, "\(tap) is up")
                }
                #expect(interfaceAttribute(taps[0], "mtu") == "1400")
                #expect(interfaceAttribute(taps[1], "mtu") == "1300")
                #expect(interfaceAttribute(taps[0], "address") == "fe:54:00:10:00:01")

                // The VMM holds the taps as descriptors 3 and 4 and is told so.
                let pid = try #require(fixture.pid(of: "alpha"))
                for descriptor in [3, 4] {
                    #expect(
                        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(descriptor)")
                            == "/dev/net/tun")
                }
                let log = try String(contentsOfFile: fixture.paths.runFiles("alpha").log, encoding: .utf8)
                #expect(
                    log.contains(
                        "\"--net\", \"fd=3,mac=52:54:00:10:00:01\", \"--net\", \"fd=4,mac=52:54:00:10:00:02,mtu=1300\"")
                )

                try await backend.destroy(defined.uuid, flags: 0)
                #expect(
                    await fixture.eventually(10) { taps.allSatisfy { !interfaceExists($0) } }, "\(taps) after destroy")

                // A VMM that dies takes its taps with it.
                _ = try await backend.start(defined.uuid, flags: 0)
                let again = try Self.targetDevices(try await backend.xmlDescription(defined.uuid, flags: []))
                #expect(again.allSatisfy { interfaceMaster($0) == bridge.name }, "\(again)")
                let second = try #require(fixture.pid(of: "alpha"))
                kill(second, SIGKILL)
                #expect(await fixture.eventually(10) { (try? await backend.lookup(.name("alpha")).state) == .shutoff })
                #expect(
                    await fixture.eventually(10) { again.allSatisfy { !interfaceExists($0) } },
                    "\(again) after the VMM died")
            }
        }
    }

    @Test("a missing bridge fails the start with libvirt's error and leaves no tap, VMM or run file")
    func missingBridge() async throws {
        try await TestBridge.with(mtu: 1500) { bridge in
            try await withFixture { fixture in
                let backend = try await fixture.open()
                let missing = TestBridge.uniqueName("svno")
                let first = TestBridge.uniqueName("svtp")
                let second = TestBridge.uniqueName("svtp")
                // The first interface's tap is made and on its bridge before the second one fails.
                let devices = """
                    <interface type='bridge'><source bridge='\(bridge.name)'/><target dev='\(first)'/></interface>
                    <interface type='bridge'><source bridge='\(missing)'/><target dev='\(second)'/></interface>
                    """
                let defined = try await backend.define(xml: fixture.xml(name: "alpha", devices: devices), flags: 0)
                let error = await #expect(throws: ManagementError.self) {
                    try await backend.start(defined.uuid, flags: 0)
                }
                #expect(error?.libvirtError.code == .systemError)
                #expect(error?.libvirtError.domain == LibvirtErrorDomain.none)
                #expect(
                    error?.libvirtError.message == "Cannot get interface MTU on '\(missing)': No such device",
                    "\(String(describing: error))")
                #expect(try await backend.lookup(.name("alpha")).state == .shutoff)
                // The kernel removes a non-persistent tap when its last descriptor closes; a process another
                // test forks at that moment holds a copy until its exec closes it, so allow a moment.
                #expect(await fixture.eventually(10) { !interfaceExists(first) && !interfaceExists(second) })
                let runFiles = try FileManager.default.contentsOfDirectory(atPath: fixture.paths.runDirectory)
                #expect(runFiles.allSatisfy { $0.hasSuffix(".log") || $0 == "autostarted" }, "\(runFiles)")
                let log = (try? String(contentsOfFile: fixture.paths.runFiles("alpha").log, encoding: .utf8)) ?? ""
                #expect(!log.contains("fake-vmm argv"), "no VMM was started: \(log)")
            }
        }
    }

    @Test("a re-adopted domain keeps its tap and its name; a VMM that died while no backend watched took its tap")
    func readoption() async throws {
        try await TestBridge.with(mtu: 1500) { bridge in
            try await withFixture { fixture in
                let devices = "<interface type='bridge'><source bridge='\(bridge.name)'/></interface>"
                let first = try await fixture.open()
                let alpha = try await first.define(xml: fixture.xml(name: "alpha", devices: devices), flags: 0)
                let beta = try await first.define(xml: fixture.xml(name: "beta", devices: devices), flags: 0)
                _ = try await first.start(alpha.uuid, flags: 0)
                _ = try await first.start(beta.uuid, flags: 0)
                let alphaTaps = try Self.targetDevices(try await first.xmlDescription(alpha.uuid, flags: []))
                let betaTaps = try Self.targetDevices(try await first.xmlDescription(beta.uuid, flags: []))
                #expect(alphaTaps.count == 1 && betaTaps.count == 1 && alphaTaps != betaTaps)
                await first.close()
                let betaPID = try #require(fixture.pid(of: "beta"))
                kill(betaPID, SIGKILL)
                var status: Int32 = 0
                waitpid(betaPID, &status, 0)

                let second = try await fixture.open()
                #expect(try await second.lookup(.name("beta")).state == .shutoff)
                #expect(await fixture.eventually(10) { betaTaps.allSatisfy { !interfaceExists($0) } }, "\(betaTaps)")
                #expect(try Self.targetDevices(try await second.xmlDescription(alpha.uuid, flags: [])) == alphaTaps)
                #expect(alphaTaps.allSatisfy { interfaceMaster($0) == bridge.name })
                try await second.destroy(alpha.uuid, flags: 0)
                #expect(await fixture.eventually(10) { alphaTaps.allSatisfy { !interfaceExists($0) } }, "\(alphaTaps)")
            }
        }
    }
}
