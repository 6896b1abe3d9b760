import Foundation
import LibvirtProtocol
import ManagementClient
import Testing

@testable import Management

/// `swiftvirt list/define/start/stop/undefine/console` and the ManagementClient library under them,
/// against the real `swiftvirtd` binary with the fake VMM.
@Suite("swiftvirt domain commands against the swiftvirtd binary")
struct SwiftVirtClientTests {
    @Test("list, define, start, stop, stop --force, undefine; errors print libvirt's message and exit 1")
    func lifecycle() async throws {
        try await withDaemonProcess { daemon in
            let fixture = daemon.fixture
            let path = try VirshDaemonTests.guestFile(fixture)

            let define = try await daemon.swiftvirt("define", path)
            #expect(define.status == 0 && define.output == "Domain 'guest1' defined from \(path)\n", "\(define)")
            let all = try await daemon.swiftvirt("list", "--all")
            #expect(all.output == " Id   Name     State\n----------------------\n -    guest1   shut off\n\n", "\(all)")
            #expect(!(try await daemon.swiftvirt("list")).output.contains("guest1"))

            let start = try await daemon.swiftvirt("start", "guest1")
            #expect(start.status == 0 && start.output == "Domain 'guest1' started\n", "\(start)")
            let list = try await daemon.swiftvirt("list")
            #expect(list.output.contains(" 1    guest1   running\n"), "\(list)")
            #expect(try await daemon.virsh("domstate", "guest1").output.hasPrefix("running"))

            // This VMM has no power button: the daemon's error, word for word, and exit 1.
            let stop = try await daemon.swiftvirt("stop", "guest1")
            #expect(stop.status == 1 && stop.output.isEmpty, "\(stop)")
            #expect(
                stop.error.hasPrefix("error: Operation not supported: the VMM cannot press the ACPI power button"),
                "\(stop)")
            let force = try await daemon.swiftvirt("stop", "--force", "guest1")
            #expect(force.status == 0 && force.output == "Domain 'guest1' destroyed\n", "\(force)")
            #expect(try await daemon.virsh("domstate", "guest1", "--reason").output.hasPrefix("shut off (destroyed)"))

            let undefine = try await daemon.swiftvirt("undefine", "guest1")
            #expect(undefine.output == "Domain 'guest1' has been undefined\n", "\(undefine)")
            #expect(!(try await daemon.swiftvirt("list", "--all")).output.contains("guest1"))
            let missing = try await daemon.swiftvirt("start", "guest1")
            #expect(missing.status == 1, "\(missing)")
            #expect(missing.error == "error: Domain not found: no domain with matching name 'guest1'\n", "\(missing)")

            let nowhere = try await run(
                try DaemonProcess.executable("swiftvirt"), ["list", "--connect", fixture.directory + "/none"],
                environment: [:])
            #expect(nowhere.status == 1, "\(nowhere)")
            #expect(nowhere.error.hasPrefix("error: Failed to connect socket to '\(fixture.directory)/none'"))
        }
    }

    @Test("stop asks a VMM with a power button to power off; the domain shuts off")
    func acpiStop() async throws {
        try await withDaemonProcess { daemon in
            let fixture = daemon.fixture
            let path = fixture.directory + "/pb.xml"
            let kernel = try fixture.kernel(named: "pb-kernel", behaviour: "powerbutton")
            try fixture.xml(name: "pb", kernel: kernel).write(toFile: path, atomically: true, encoding: .utf8)
            #expect(try await daemon.swiftvirt("define", path).status == 0)
            #expect(try await daemon.swiftvirt("start", "pb").status == 0)
            let stop = try await daemon.swiftvirt("stop", "pb")
            #expect(stop.status == 0 && stop.output == "Domain 'pb' is being shutdown\n", "\(stop)")
            #expect(
                await fixture.eventually(60) {
                    (try? await daemon.swiftvirt("list", "--all"))?.output.contains(" -    pb     shut off") ?? false
                })
        }
    }

    @Test("console under a pseudo-terminal: banner, guest echo, Ctrl-] leaves with exit 0")
    func console() async throws {
        try await withDaemonProcess { daemon in
            let path = try VirshDaemonTests.guestFile(daemon.fixture)
            #expect(try await daemon.virsh("create", path).status == 0)
            let console = try await daemon.console(
                probe: "hello-from-swiftvirt",
                command: [
                    try DaemonProcess.executable("swiftvirt"), "console", "guest1", "--connect", daemon.socketPath,
                ])
            #expect(console.output.contains("steps ok ok ok"), "\(console)")
            #expect(console.output.contains("exit 0"), "\(console)")
            // The console is free again for the next client.
            #expect(try await daemon.console("guest1", probe: "after-swiftvirt").output.contains("steps ok ok ok"))
            #expect(try await daemon.virsh("destroy", "guest1").status == 0)
        }
    }

    @Test("the ManagementClient library: lookup, state and errors as values")
    func library() async throws {
        try await withDaemonProcess { daemon in
            let path = try VirshDaemonTests.guestFile(daemon.fixture)
            let xml = try String(contentsOfFile: path, encoding: .utf8)
            let socket = daemon.socketPath
            let (listed, state, error) = try await blocking { () -> ([DomainListing], DomainState, ClientError?) in
                let client = try RemoteClient(socketPath: socket)
                defer { client.close() }
                let domain = try client.define(xml: xml)
                _ = try client.start(domain)
                let listed = try client.listDomains(includeInactive: true)
                let state = try client.state(of: domain).state
                try client.destroy(domain)
                var failure: ClientError?
                do throws(ClientError) {
                    try client.destroy(domain)
                } catch {
                    failure = error
                }
                return (listed, state, failure)
            }
            #expect(listed.map(\.domain.name) == ["guest1"] && listed.first?.state == .running)
            #expect(state == .running)
            guard case .remote(let remote)? = error else {
                Issue.record("expected a libvirt error, got \(String(describing: error))")
                return
            }
            #expect(remote.code == .operationInvalid)
            #expect(error?.description == "Requested operation is not valid: domain is not running")
        }
    }
}
