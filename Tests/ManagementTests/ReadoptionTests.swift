import Foundation
import LibvirtProtocol
import Testing

@testable import Management

@Suite("Re-adoption: VMMs outlive the backend; a new one finds them, or cleans up after them")
struct ReadoptionTests {
    @Test("running, paused and transient domains come back with their ids; new ids continue after them")
    func readopt() async throws {
        try await withFixture { fixture in
            let first = try await fixture.open()
            let alpha = try await first.define(xml: fixture.xml(name: "alpha"), flags: 0)
            let beta = try await first.define(xml: fixture.xml(name: "beta"), flags: 0)
            _ = try await first.start(alpha.uuid, flags: 0)
            _ = try await first.start(beta.uuid, flags: 0)
            let gamma = try await first.createTransient(xml: fixture.xml(name: "gamma"), flags: 0)
            try await first.suspend(beta.uuid)
            let pids = ["alpha", "beta", "gamma"].compactMap { fixture.pid(of: $0) }
            await first.close()

            let second = try await fixture.open()
            #expect(fixture.recordedNotices.isEmpty, "\(fixture.recordedNotices)")
            let statuses = Dictionary(uniqueKeysWithValues: await second.list().map { ($0.name, $0) })
            #expect(statuses["alpha"]?.state == .running && statuses["alpha"]?.id == 1)
            #expect(statuses["beta"]?.state == .paused && statuses["beta"]?.id == 2)
            #expect(statuses["gamma"]?.state == .running && statuses["gamma"]?.id == 3)
            #expect(statuses["gamma"]?.persistent == false)
            #expect(try await second.xmlDescription(gamma.uuid, flags: []).hasPrefix("<domain type='kvm' id='3'>"))

            let delta = try await second.define(xml: fixture.xml(name: "delta"), flags: 0)
            #expect(try await second.start(delta.uuid, flags: 0).id == 4)
            try await second.resume(beta.uuid)
            for uuid in [alpha.uuid, beta.uuid, gamma.uuid, delta.uuid] { try await second.destroy(uuid, flags: 0) }
            #expect(pids.count == 3 && !pids.contains(where: processIsAlive))
            #expect(await second.list().map(\.name).sorted() == ["alpha", "beta", "delta"])

            // An adopted VMM that exits by itself is noticed too (it is no longer our child here).
            _ = try await second.start(alpha.uuid, flags: 0)
            await second.close()
            let third = try await fixture.open()
            #expect(try fixture.control("alpha", "exit 0") == "ok")
            #expect(await fixture.eventually { (try? await third.lookup(.name("alpha")).state) == .shutoff })
        }
    }

    @Test(
        "a VMM that died while no backend watched: domain shut off and reported stopped, transient gone, files removed")
    func diedWhileAway() async throws {
        try await withFixture { fixture in
            let first = try await fixture.open()
            let alpha = try await first.define(xml: fixture.xml(name: "alpha"), flags: 0)
            _ = try await first.start(alpha.uuid, flags: 0)
            _ = try await first.createTransient(xml: fixture.xml(name: "beta"), flags: 0)
            await first.close()
            fixture.killLeftoverVMMs()

            let second = try await fixture.open()
            #expect(try await second.lookup(.name("alpha")).state == .shutoff)
            await #expect(throws: LibvirtError.self) { try await second.lookup(.name("beta")) }
            let left = try FileManager.default.contentsOfDirectory(atPath: fixture.paths.runDirectory)
            #expect(Set(left) == ["alpha.log", "beta.log", "autostarted"], "\(left)")
            #expect(fixture.recordedNotices.filter { $0.contains("is no longer running") }.count == 2)
            // Clients of the new backend hear that both stopped (how, nobody saw).
            #expect(fixture.lifecycleEvents(of: "alpha") == [.definedAdded, .startedBooted, .stoppedFailed])
            #expect(fixture.lifecycleEvents(of: "beta") == [.startedBooted, .stoppedFailed])
            #expect(
                fixture.recordedEvents.filter { $0.kind == .lifecycle(.stoppedFailed) }.allSatisfy {
                    $0.domain.id == -1
                })
        }
    }

    @Test("a live VMM that no longer answers on its control socket is killed, as libvirtd does")
    func deafVMM() async throws {
        try await withFixture { fixture in
            let first = try await fixture.open()
            let alpha = try await first.define(xml: fixture.xml(name: "alpha"), flags: 0)
            _ = try await first.start(alpha.uuid, flags: 0)
            let pid = try #require(fixture.pid(of: "alpha"))
            await first.close()
            #expect(try fixture.control("alpha", "deafen") == "ok")

            let second = try await fixture.open()
            #expect(try await second.lookup(.name("alpha")).state == .shutoff)
            #expect(!processIsAlive(pid))
            #expect(fixture.recordedNotices.contains { $0.contains("did not answer on its control socket") })
        }
    }

    @Test("after a host reboot domains are shut off and autostart ones start, once per boot")
    func hostReboot() async throws {
        try await withFixture { fixture in
            let first = try await fixture.open()
            let alpha = try await first.define(xml: fixture.xml(name: "alpha"), flags: 0)
            let beta = try await first.define(xml: fixture.xml(name: "beta"), flags: 0)
            try await first.setAutostart(alpha.uuid, true)
            _ = try await first.start(alpha.uuid, flags: 0)
            _ = try await first.start(beta.uuid, flags: 0)
            let pid = try #require(fixture.pid(of: "alpha"))
            await first.close()
            // The reboot: every VMM is gone and the run directory (a tmpfs) is empty again.
            fixture.killLeftoverVMMs()
            try FileManager.default.removeItem(atPath: fixture.paths.runDirectory)

            let second = try await fixture.open()
            let restarted = try await second.lookup(.name("alpha"))
            #expect(restarted.state == .running && restarted.autostart)
            #expect(fixture.pid(of: "alpha") != pid)
            #expect(try await second.lookup(.name("beta")).state == .shutoff)

            // A daemon restart in the same boot leaves a domain the user stopped alone.
            try await second.destroy(alpha.uuid, flags: 0)
            await second.close()
            let third = try await fixture.open()
            #expect(try await third.lookup(.name("alpha")).state == .shutoff)
        }
    }

    @Test("a record from another boot is stale even if its pid is alive")
    func otherBoot() async throws {
        try await withFixture { fixture in
            let first = try await fixture.open()
            let alpha = try await first.define(xml: fixture.xml(name: "alpha"), flags: 0)
            _ = try await first.start(alpha.uuid, flags: 0)
            let pid = try #require(fixture.pid(of: "alpha"))
            await first.close()
            defer {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
            let stateFile = fixture.paths.runFiles("alpha").stateFile
            let record = try String(contentsOfFile: stateFile, encoding: .utf8)
            let otherBoot = record.split(separator: "\n")
                .map { $0.hasPrefix("boot-id=") ? "boot-id=00000000-0000-4000-8000-000000000000" : String($0) }
            try otherBoot.joined(separator: "\n").write(toFile: stateFile, atomically: true, encoding: .utf8)

            let second = try await fixture.open()
            #expect(try await second.lookup(.name("alpha")).state == .shutoff)
            #expect(fixture.recordedNotices.contains { $0.contains("before the host rebooted") })
            #expect(!fixture.exists(fixture.paths.runFiles("alpha").pidFile))
        }
    }
}
