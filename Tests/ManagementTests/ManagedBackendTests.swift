import DomainXML
import Foundation
import LibvirtProtocol
import Testing

@testable import Management

@Suite("ManagedDomainBackend against a fake VMM")
struct ManagedBackendTests {
    @Test("define, start, suspend, resume, info, live XML, destroy; run files come and go")
    func lifecycle() async throws {
        try await withFixture { fixture in
            let backend = try await fixture.open()
            let defined = try await backend.define(xml: fixture.xml(name: "alpha"), flags: 0)
            #expect(defined.state == .shutoff && defined.persistent && defined.id == -1)
            #expect(fixture.exists(fixture.paths.definitionFile("alpha")))

            let started = try await backend.start(defined.uuid, flags: 0)
            #expect(started.state == .running && started.id == 1 && started.reason == DomainStateReason.runningBooted)
            let files = fixture.paths.runFiles("alpha")
            for path in [files.pidFile, files.stateFile, files.liveDefinition, files.controlSocket, files.serialSocket]
            {
                #expect(fixture.exists(path), "\(path)")
            }
            let pid = try #require(fixture.pid(of: "alpha"))
            #expect(processIsAlive(pid))
            // Detached: leads its own session; stdin is /dev/null, stdout and stderr the log; nothing
            // else of this process leaks into it (its descriptors from 3 up are its own sockets).
            let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
            let fields = try #require(stat.split(separator: ")").last?.split(separator: " "))
            #expect(fields.count > 3 && fields[3] == "\(pid)", "session id of \(stat)")
            let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
            for descriptor in descriptors {
                let target = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(descriptor)")
                switch descriptor {
                case "0": #expect(target == "/dev/null")
                case "1", "2": #expect(target == files.log)
                default: #expect(target.hasPrefix("socket:"), "fd \(descriptor) → \(target)")
                }
            }
            let log = try String(contentsOfFile: files.log, encoding: .utf8)
            #expect(log.contains("fake-vmm argv [\"run\", \"--kernel\", \"\(fixture.kernel)\""), "\(log)")
            #expect(log.contains("\"--memory\", \"256M\", \"--cpus\", \"2\", \"--disk\", \"path=\(fixture.disk)\""))
            #expect(try await backend.lookup(.id(1)).name == "alpha")

            try await backend.suspend(defined.uuid)
            #expect(try fixture.control("alpha", "status") == "paused")
            #expect(try await backend.lookup(.name("alpha")).state == .paused)
            await #expect(throws: LibvirtError.self) { try await backend.suspend(defined.uuid) }
            try await backend.resume(defined.uuid)
            #expect(try fixture.control("alpha", "status") == "running")
            #expect(try await backend.lookup(.name("alpha")).reason == DomainStateReason.runningUnpaused)

            // Someone else pauses the VMM directly: dominfo (GET_INFO) notices.
            #expect(try fixture.control("alpha", "pause") == "ok")
            let info = try await backend.runtimeInfo(defined.uuid)
            #expect(info.maxMemory == 262_144 && info.virtualCPUs == 2)
            #expect(try await backend.lookup(.name("alpha")).state == .paused)

            let live = try await backend.xmlDescription(defined.uuid, flags: [])
            #expect(live.hasPrefix("<domain type='kvm' id='1'>"))
            #expect(!(try await backend.xmlDescription(defined.uuid, flags: .inactive)).contains("id='1'"))

            try await backend.destroy(defined.uuid, flags: 0)
            let stopped = try await backend.lookup(.name("alpha"))
            #expect(stopped.state == .shutoff && stopped.reason == DomainStateReason.shutoffDestroyed)
            #expect(!processIsAlive(pid))
            for path in [files.pidFile, files.stateFile, files.liveDefinition, files.controlSocket, files.serialSocket]
            {
                #expect(!fixture.exists(path), "\(path)")
            }
            #expect(fixture.exists(files.log))
            await #expect(throws: LibvirtError.self) { try await backend.destroy(defined.uuid, flags: 0) }

            // Ids keep counting up, as libvirt's do.
            #expect(try await backend.start(defined.uuid, flags: LifecycleFlag.startPaused).id == 2)
            #expect(try await backend.lookup(.name("alpha")).state == .paused)
            try await backend.destroy(defined.uuid, flags: 0)
        }
    }

    @Test("a VMM that exits by itself: poweroff shuts the domain off, a transient domain disappears")
    func selfExit() async throws {
        try await withFixture { fixture in
            let backend = try await fixture.open()
            let persistent = try await backend.define(xml: fixture.xml(name: "alpha"), flags: 0)
            _ = try await backend.start(persistent.uuid, flags: 0)
            let transient = try await backend.createTransient(xml: fixture.xml(name: "beta"), flags: 0)
            #expect(transient.state == .running && !transient.persistent)
            let crashing = try await backend.define(xml: fixture.xml(name: "gamma"), flags: 0)
            _ = try await backend.start(crashing.uuid, flags: 0)

            #expect(try fixture.control("alpha", "exit 0") == "ok")
            #expect(try fixture.control("beta", "exit 0") == "ok")
            #expect(try fixture.control("gamma", "exit 2") == "ok")
            #expect(
                await fixture.eventually {
                    await backend.list().filter(\.state.isActive).isEmpty
                })
            let alpha = try await backend.lookup(.name("alpha"))
            #expect(alpha.state == .shutoff && alpha.reason == DomainStateReason.shutoffShutdown)
            #expect(try await backend.lookup(.name("gamma")).reason == DomainStateReason.shutoffCrashed)
            await #expect(throws: LibvirtError.self) { try await backend.lookup(.name("beta")) }
            #expect(!fixture.exists(fixture.paths.runFiles("alpha").pidFile))
        }
    }

    @Test("a guest reboot (exit 3) starts a new VMM under the same id when on_reboot is restart")
    func rebootRestart() async throws {
        try await withFixture { fixture in
            let backend = try await fixture.open()
            let restarting = try await backend.define(xml: fixture.xml(name: "alpha"), flags: 0)
            let stopping = try await backend.define(xml: fixture.xml(name: "beta", onReboot: "destroy"), flags: 0)
            let id = try await backend.start(restarting.uuid, flags: 0).id
            _ = try await backend.start(stopping.uuid, flags: 0)
            let firstPID = try #require(fixture.pid(of: "alpha"))
            #expect(try fixture.control("alpha", "exit 3") == "ok")
            #expect(try fixture.control("beta", "exit 3") == "ok")
            #expect(
                await fixture.eventually {
                    let restarted =
                        fixture.pid(of: "alpha").map { $0 != firstPID } ?? false
                        && (try? fixture.control("alpha", "status")) == "running"
                    let betaState = try? await backend.lookup(.name("beta")).state
                    return restarted && betaState == .shutoff
                })
            #expect(try await backend.lookup(.name("alpha")).id == id)
            #expect(!processIsAlive(firstPID))
            try await backend.destroy(restarting.uuid, flags: 0)
        }
    }

    @Test("failed starts explain themselves and leave nothing running or behind")
    func failedStarts() async throws {
        try await withFixture { fixture in
            let backend = try await fixture.open()

            let failing = try fixture.kernel(named: "failing", behaviour: "fail-start")
            let failed = try await backend.define(xml: fixture.xml(name: "alpha", kernel: failing), flags: 0)
            let startError = await #expect(throws: ManagementError.self) {
                try await backend.start(failed.uuid, flags: 0)
            }
            #expect(startError?.description.contains("the VMM exited with status 1 during start-up") == true)
            #expect(startError?.description.contains("marked fail-start") == true, "\(String(describing: startError))")
            #expect(try await backend.lookup(.name("alpha")).state == .shutoff)
            #expect(!fixture.exists(fixture.paths.runFiles("alpha").pidFile))

            let missing = try await backend.define(
                xml: fixture.xml(name: "beta", kernel: "/nonexistent/vmlinux"), flags: 0)
            let missingError = await #expect(throws: ManagementError.self) {
                try await backend.start(missing.uuid, flags: 0)
            }
            #expect(
                missingError?.libvirtError.message.contains("Cannot access storage file '/nonexistent/vmlinux'") == true
            )

            let networked = try await backend.define(
                xml: fixture.xml(
                    name: "gamma", devices: "<interface type='network'><source network='default'/></interface>"),
                flags: 0)
            let networkError = await #expect(throws: ManagementError.self) {
                try await backend.start(networked.uuid, flags: 0)
            }
            #expect(networkError?.libvirtError.code == .configUnsupported)

            // A transient domain that fails to start does not linger.
            await #expect(throws: ManagementError.self) {
                try await backend.createTransient(xml: fixture.xml(name: "delta", kernel: failing), flags: 0)
            }
            await #expect(throws: LibvirtError.self) { try await backend.lookup(.name("delta")) }
        }
    }

    @Test("a VMM that never answers on its control socket is killed when the start times out")
    func deafVMM() async throws {
        try await withFixture { fixture in
            var configuration = fixture.configuration()
            configuration.startTimeout = .milliseconds(600)
            let backend = try await fixture.open(configuration)
            let deaf = try fixture.kernel(named: "deaf", behaviour: "deaf")
            let domain = try await backend.define(xml: fixture.xml(name: "alpha", kernel: deaf), flags: 0)
            let error = await #expect(throws: ManagementError.self) { try await backend.start(domain.uuid, flags: 0) }
            #expect(error?.description.contains("did not answer") == true)
            #expect(!fixture.exists(fixture.paths.runFiles("alpha").pidFile))
        }
    }

    @Test("names and UUIDs are unique; undefine of a running domain makes it transient")
    func identityAndUndefine() async throws {
        try await withFixture { fixture in
            let backend = try await fixture.open()
            let alpha = try await backend.define(xml: fixture.xml(name: "alpha"), flags: 0)
            let sameName = await #expect(throws: LibvirtError.self) {
                try await backend.define(xml: fixture.xml(name: "alpha"), flags: 0)
            }
            #expect(sameName?.message.contains("domain 'alpha' already exists with uuid \(alpha.uuid)") == true)
            let sameUUID = await #expect(throws: LibvirtError.self) {
                try await backend.define(xml: fixture.xml(name: "other", uuid: alpha.uuid.description), flags: 0)
            }
            #expect(sameUUID?.message.contains("domain 'alpha' is already defined with uuid") == true)
            await #expect(throws: LibvirtError.self) {
                try await backend.createTransient(xml: fixture.xml(name: "alpha"), flags: 0)
            }
            await #expect(throws: ManagementError.self) {
                try await backend.define(xml: fixture.xml(name: ".hidden"), flags: 0)
            }

            // Redefining (same name and UUID) while running changes the next boot only.
            _ = try await backend.start(alpha.uuid, flags: 0)
            var changed = try DomainDefinition.parse(fixture.xml(name: "alpha", uuid: alpha.uuid.description))
            changed.virtualCPUs = 1
            _ = try await backend.define(xml: changed.xml(), flags: 0)
            #expect(
                try await backend.xmlDescription(alpha.uuid, flags: []).contains("<vcpu placement='static'>2</vcpu>"))
            #expect(
                try await backend.xmlDescription(alpha.uuid, flags: .inactive).contains(
                    "<vcpu placement='static'>1</vcpu>"))

            try await backend.setAutostart(alpha.uuid, true)
            #expect(fixture.exists(fixture.paths.autostartLink("alpha")))
            try await backend.undefine(alpha.uuid, flags: 0)
            let transient = try await backend.lookup(.name("alpha"))
            #expect(transient.state == .running && !transient.persistent && !transient.autostart)
            #expect(!fixture.exists(fixture.paths.definitionFile("alpha")))
            #expect(!fixture.exists(fixture.paths.autostartLink("alpha")))
            await #expect(throws: LibvirtError.self) { try await backend.undefine(alpha.uuid, flags: 0) }
            await #expect(throws: LibvirtError.self) { try await backend.setAutostart(alpha.uuid, true) }
            try await backend.destroy(alpha.uuid, flags: 0)
            await #expect(throws: LibvirtError.self) { try await backend.lookup(.name("alpha")) }
        }
    }

    @Test("shutdown: ACPI is refused by a VMM without a power button; --mode signal quits the VMM")
    func shutdownModes() async throws {
        try await withFixture { fixture in
            let backend = try await fixture.open()
            let alpha = try await backend.define(xml: fixture.xml(name: "alpha"), flags: 0)
            _ = try await backend.start(alpha.uuid, flags: 0)
            let acpi = await #expect(throws: ManagementError.self) { try await backend.shutdown(alpha.uuid, flags: 0) }
            #expect(acpi?.libvirtError.code.rawValue == 84)
            #expect(acpi?.description.contains("--mode signal") == true)
            let reboot = await #expect(throws: ManagementError.self) { try await backend.reboot(alpha.uuid, flags: 0) }
            #expect(reboot?.libvirtError.code.rawValue == 84)

            try await backend.shutdown(alpha.uuid, flags: LifecycleFlag.shutdownSignal)
            #expect(await fixture.eventually { (try? await backend.lookup(.name("alpha")).state) == .shutoff })
            #expect(try await backend.lookup(.name("alpha")).reason == DomainStateReason.shutoffShutdown)

            // A VMM that has the power button: the default mode uses it.
            let button = try fixture.kernel(named: "button", behaviour: "powerbutton")
            let beta = try await backend.define(xml: fixture.xml(name: "beta", kernel: button), flags: 0)
            _ = try await backend.start(beta.uuid, flags: 0)
            try await backend.shutdown(beta.uuid, flags: 0)
            #expect(await fixture.eventually { (try? await backend.lookup(.name("beta")).state) == .shutoff })
        }
    }

    @Test("the console connects to the VMM's serial socket")
    func console() async throws {
        try await withFixture { fixture in
            let backend = try await fixture.open()
            let alpha = try await backend.define(xml: fixture.xml(name: "alpha"), flags: 0)
            await #expect(throws: LibvirtError.self) {
                try await backend.openConsole(alpha.uuid, device: nil, flags: 0)
            }
            _ = try await backend.start(alpha.uuid, flags: 0)
            await #expect(throws: LibvirtError.self) {
                try await backend.openConsole(alpha.uuid, device: "serial7", flags: 0)
            }
            let connection = try await backend.openConsole(alpha.uuid, device: "serial0", flags: 0)
            let descriptor = try #require(connection.takeDescriptor())
            defer { close(descriptor) }
            #expect(connection.takeDescriptor() == nil)
            var timeout = timeval(tv_sec: 60, tv_usec: 0)  // a hang guard, not a timing check
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let probe = Array("ping\r".utf8)
            _ = probe.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 256)
            while !String(decoding: received, as: UTF8.self).contains("ping\r\n") {
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                guard count > 0 else { break }
                received += buffer.prefix(count)
            }
            let text = String(decoding: received, as: UTF8.self)
            #expect(text.contains("fake-vmm serial ready") && text.contains("ping\r\n"), "\(text)")
            try await backend.destroy(alpha.uuid, flags: 0)
        }
    }
}
