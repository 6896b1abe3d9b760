import Foundation
import Testing

@testable import Management

/// Stock clients receive the daemon's domain events: `virsh event` and python3-libvirt, against the
/// real `swiftvirtd` binary with the fake VMM.
@Suite("Domain events through swiftvirtd to virsh and python3-libvirt")
struct DaemonEventTests {
    /// Registers a lifecycle callback (and a legacy one, on the same connection), prints each event as
    /// "lifecycle NAME EVENT DETAIL" and "legacy ...", and exits once `guest1` is undefined.
    static let listener = """
        import libvirt, sys, time
        libvirt.virEventRegisterDefaultImpl()
        conn = libvirt.open(sys.argv[1])
        def lifecycle(conn, dom, event, detail, tag):
            print(tag, dom.name(), event, detail, flush=True)
            if dom.name() == "guest1" and event == libvirt.VIR_DOMAIN_EVENT_UNDEFINED:
                done.append(tag)
        done = []
        conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, lifecycle, "lifecycle")
        conn.domainEventRegister(lambda c, d, e, s, o: lifecycle(c, d, e, s, "legacy"), None)
        print("ready", flush=True)
        deadline = time.time() + 180
        while len(done) < 2 and time.time() < deadline:
            libvirt.virEventRunDefaultImpl()
        print("finished", len(done), flush=True)
        """

    @Test("virsh event --all --loop and python3-libvirt print every lifecycle change of a domain")
    func lifecycleEvents() async throws {
        try await withDaemonProcess { daemon in
            let fixture = daemon.fixture
            let path = try VirshDaemonTests.guestFile(fixture)
            let probePath = fixture.directory + "/probe.xml"
            try fixture.xml(name: "probe").write(toFile: probePath, atomically: true, encoding: .utf8)

            let virsh = try daemon.virshInBackground("event", "--all", "--loop")
            let python = try daemon.pythonInBackground(Self.listener, daemon.uri)
            // Both are listening once a definition reaches them (virsh says nothing before).
            let listening = await fixture.eventually(120) {
                _ = try? await daemon.virsh("define", probePath)
                return virsh.output.contains("for domain 'probe'") && python.output.contains("lifecycle probe")
            }
            #expect(listening, "virsh:\n\(virsh.output)\npython:\n\(python.output)\n\(daemon.daemonLog())")

            for command in [
                ["define", path], ["start", "guest1"], ["suspend", "guest1"], ["resume", "guest1"],
                ["destroy", "guest1"], ["start", "guest1"],
            ] {
                let result = try await daemon.virsh(command)
                #expect(result.status == 0, "\(command): \(result)")
            }
            // The guest powers off by itself; the daemon's monitor sees the VMM exit.
            #expect(try fixture.control("guest1", "exit 0") == "ok")
            #expect(
                await fixture.eventually(60) {
                    (try? await daemon.virsh("domstate", "guest1"))?.output.hasPrefix("shut off") ?? false
                })
            #expect(try await daemon.virsh("undefine", "guest1").status == 0)

            let expected = [
                "Defined Added", "Started Booted", "Suspended Paused", "Resumed Unpaused", "Stopped Destroyed",
                "Started Booted", "Shutdown Finished", "Stopped Shutdown", "Undefined Removed",
            ]
            let virshLines = { @Sendable () -> [String] in
                virsh.output.split(separator: "\n").compactMap { line in
                    let prefix = "event 'lifecycle' for domain 'guest1': "
                    return line.hasPrefix(prefix) ? String(line.dropFirst(prefix.count)) : nil
                }
            }
            #expect(await fixture.eventually(60) { virshLines().count >= expected.count })
            #expect(virshLines() == expected, "\(virsh.output)")

            // python3-libvirt: the same sequence as numbers, once per registration.
            let numbers = ["0 0", "2 0", "3 0", "4 0", "5 1", "2 0", "6 0", "5 0", "1 0"]
            #expect(await fixture.eventually(60) { python.output.contains("finished 2") }, "\(python.output)")
            for tag in ["lifecycle", "legacy"] {
                let lines = python.output.split(separator: "\n").filter { $0.hasPrefix("\(tag) guest1 ") }
                #expect(lines.map { String($0.dropFirst("\(tag) guest1 ".count)) } == numbers, "\(python.output)")
            }
            // `virsh event --loop` ends only on Ctrl-C from a terminal; it is a listener, so kill it.
            try await virsh.stop(signal: SIGKILL)
            try await python.stop()
        }
    }
}
