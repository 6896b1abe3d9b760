import Foundation
import LibvirtProtocol
import Testing

@testable import Management

/// The backend reports every state change as libvirt's domain events, whoever caused it.
@Suite("Domain events from ManagedDomainBackend")
struct DomainEventTests {
    @Test("define, start, suspend, resume, destroy, redefine, undefine: one event each, in order")
    func clientLifecycle() async throws {
        try await withFixture { fixture in
            let backend = try await fixture.open()
            let alpha = try await backend.define(xml: fixture.xml(name: "alpha"), flags: 0)
            _ = try await backend.start(alpha.uuid, flags: 0)
            try await backend.suspend(alpha.uuid)
            try await backend.resume(alpha.uuid)
            try await backend.destroy(alpha.uuid, flags: 0)
            _ = try await backend.define(xml: fixture.xml(name: "alpha", uuid: "\(alpha.uuid)"), flags: 0)
            try await backend.undefine(alpha.uuid, flags: 0)
            #expect(
                fixture.lifecycleEvents(of: "alpha") == [
                    .definedAdded, .startedBooted, .suspendedPaused, .resumedUnpaused, .stoppedDestroyed,
                    .definedUpdated, .undefinedRemoved,
                ])
            // The domain as it is after each change: an id while it runs, -1 once stopped.
            let ids = fixture.recordedEvents.map(\.domain.id)
            #expect(ids == [-1, 1, 1, 1, -1, -1, -1], "\(fixture.recordedEvents)")
            #expect(fixture.recordedEvents.allSatisfy { $0.domain.uuid == alpha.uuid })

            // Starting paused reports the start, then the pause; a transient domain only starts.
            let beta = try await backend.define(xml: fixture.xml(name: "beta"), flags: 0)
            _ = try await backend.start(beta.uuid, flags: LifecycleFlag.startPaused)
            try await backend.destroy(beta.uuid, flags: 0)
            #expect(
                fixture.lifecycleEvents(of: "beta") == [
                    .definedAdded, .startedBooted, .suspendedPaused, .stoppedDestroyed,
                ])
            let gamma = try await backend.createTransient(xml: fixture.xml(name: "gamma"), flags: 0)
            try await backend.destroy(gamma.uuid, flags: 0)
            #expect(fixture.lifecycleEvents(of: "gamma") == [.startedBooted, .stoppedDestroyed])
        }
    }

    @Test("VMMs that exit by themselves: poweroff, crash, kill, reboot; a pause seen on the control socket")
    func selfExit() async throws {
        try await withFixture { fixture in
            let backend = try await fixture.open()
            var uuids: [String: DomainUUID] = [:]
            for name in ["off", "crash", "killed", "reboot", "paused", "signal"] {
                let domain = try await backend.define(xml: fixture.xml(name: name), flags: 0)
                _ = try await backend.start(domain.uuid, flags: 0)
                uuids[name] = domain.uuid
            }
            let killedPID = try #require(fixture.pid(of: "killed"))
            let rebootPID = try #require(fixture.pid(of: "reboot"))
            #expect(try fixture.control("off", "exit 0") == "ok")
            #expect(try fixture.control("crash", "exit 2") == "ok")
            kill(killedPID, SIGKILL)
            #expect(try fixture.control("reboot", "exit 3") == "ok")
            try await backend.shutdown(try #require(uuids["signal"]), flags: LifecycleFlag.shutdownSignal)
            // Someone pauses the VMM behind the backend's back; the next refresh notices.
            #expect(try fixture.control("paused", "pause") == "ok")
            _ = try await backend.runtimeInfo(try #require(uuids["paused"]))

            let expected: [String: [DomainLifecycleEvent]] = [
                "off": [.definedAdded, .startedBooted, .shutdownFinished, .stoppedShutdown],
                "crash": [.definedAdded, .startedBooted, .stoppedCrashed],
                "killed": [.definedAdded, .startedBooted, .stoppedFailed],
                "signal": [.definedAdded, .startedBooted, .shutdownHost, .stoppedShutdown],
                "paused": [.definedAdded, .startedBooted, .suspendedPaused],
                // A restarted reboot is no lifecycle change.
                "reboot": [.definedAdded, .startedBooted],
            ]
            let rebooted: @Sendable () -> Bool = {
                fixture.recordedEvents.contains { $0.domain.name == "reboot" && $0.kind == .reboot }
            }
            let done = await fixture.eventually(60) {
                rebooted() && expected.allSatisfy { fixture.lifecycleEvents(of: $0.key) == $0.value }
            }
            #expect(done, "\(fixture.recordedEvents)")
            #expect(fixture.pid(of: "reboot") != rebootPID)
            try await backend.destroy(try #require(uuids["reboot"]), flags: 0)
            try await backend.destroy(try #require(uuids["paused"]), flags: 0)
        }
    }

}
