import Foundation
import Testing

@testable import Management

/// Stock virsh and python3-libvirt against the real `swiftvirtd` binary with the fake VMM.
@Suite("virsh against the swiftvirtd binary and its VMM processes")
struct VirshDaemonTests {
    static func guestXML(_ fixture: ManagementFixture, name: String = "guest1") -> String {
        fixture.xml(name: name, uuid: "6f0b1b6e-3c57-4d0c-9a38-2d9b8f6c1e01")
    }

    /// Writes `guestXML` to guest1.xml in the fixture directory and returns its path.
    static func guestFile(_ fixture: ManagementFixture) throws -> String {
        let path = fixture.directory + "/guest1.xml"
        try guestXML(fixture).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("define, start, list, dominfo, suspend, resume, dumpxml, console, shutdown, destroy, undefine, create")
    func lifecycle() async throws {
        try await withDaemonProcess { daemon in
            let fixture = daemon.fixture
            let path = try Self.guestFile(fixture)

            let define = try await daemon.virsh("define", path)
            #expect(define.status == 0, "\(define)")
            #expect(fixture.exists(fixture.paths.definitionFile("guest1")))
            let listAll = try await daemon.virsh("list", "--all")
            #expect(listAll.output.contains(" -    guest1   shut off"), "\(listAll)")

            let start = try await daemon.virsh("start", "guest1")
            #expect(start.output.contains("Domain 'guest1' started"), "\(start)")
            let list = try await daemon.virsh("list")
            #expect(list.output.contains(" 1    guest1   running"), "\(list)")
            let info = try await daemon.virsh("dominfo", "guest1")
            for line in ["Id:             1", "State:          running", "CPU(s):         2", "Persistent:     yes"] {
                #expect(info.output.contains(line), "missing \(line) in \(info)")
            }

            #expect(try await daemon.virsh("suspend", "guest1").status == 0)
            #expect(try await daemon.virsh("domstate", "guest1").output.hasPrefix("paused"))
            #expect(try fixture.control("guest1", "status") == "paused")
            #expect(try await daemon.virsh("resume", "guest1").status == 0)
            #expect(try await daemon.virsh("domstate", "guest1", "--reason").output.hasPrefix("running (unpaused)"))
            #expect(try await daemon.virsh("dumpxml", "guest1").output.hasPrefix("<domain type='kvm' id='1'>"))

            let console = try await daemon.console("guest1", probe: "hello-from-virsh")
            #expect(console.output.contains("steps ok ok ok"), "\(console)")
            #expect(console.output.contains("exit 0"), "\(console)")

            let acpi = try await daemon.virsh("shutdown", "guest1")
            #expect(acpi.status == 1)
            #expect(
                acpi.error.contains("Operation not supported: the VMM cannot press the ACPI power button"), "\(acpi)")
            let signal = try await daemon.virsh("shutdown", "--mode", "signal", "guest1")
            #expect(signal.status == 0, "\(signal)")
            #expect(
                await fixture.eventually {
                    (try? await daemon.virsh("domstate", "guest1", "--reason"))?.output.hasPrefix("shut off (shutdown)")
                        ?? false
                })

            #expect(try await daemon.virsh("start", "guest1").status == 0)
            #expect(try await daemon.virsh("domid", "guest1").output.hasPrefix("2\n"))
            let destroy = try await daemon.virsh("destroy", "guest1")
            #expect(destroy.output.contains("Domain 'guest1' destroyed"), "\(destroy)")
            #expect(try await daemon.virsh("domstate", "guest1", "--reason").output.hasPrefix("shut off (destroyed)"))
            #expect(!fixture.exists(fixture.paths.runFiles("guest1").pidFile))

            #expect(try await daemon.virsh("autostart", "guest1").status == 0)
            #expect(fixture.exists(fixture.paths.autostartLink("guest1")))
            let undefine = try await daemon.virsh("undefine", "guest1")
            #expect(undefine.output.contains("Domain 'guest1' has been undefined"), "\(undefine)")
            #expect(!fixture.exists(fixture.paths.definitionFile("guest1")))
            #expect(!fixture.exists(fixture.paths.autostartLink("guest1")))

            let create = try await daemon.virsh("create", path)
            #expect(create.output.contains("Domain 'guest1' created"), "\(create)")
            #expect(try await daemon.virsh("list", "--transient").output.contains("guest1   running"))
            #expect(try await daemon.virsh("destroy", "guest1").status == 0)
            #expect(!(try await daemon.virsh("list", "--all").output.contains("guest1")))
        }
    }

    @Test("a second console is refused while one is open; --force takes it over")
    func consoleSessions() async throws {
        try await withDaemonProcess { daemon in
            let path = try Self.guestFile(daemon.fixture)
            #expect(try await daemon.virsh("create", path).status == 0)
            // python3-libvirt holds one console stream open while virsh asks for another.
            let script = """
                import libvirt, subprocess, sys
                conn = libvirt.open(sys.argv[1])
                dom = conn.lookupByName("guest1")
                stream = conn.newStream(0)
                dom.openConsole(None, stream, 0)
                data = stream.recv(64)
                print("first", data)
                second = conn.newStream(0)
                try:
                    dom.openConsole(None, second, 0)
                    print("second opened")
                except libvirt.libvirtError as e:
                    print("second refused", e.get_error_code(), e.get_error_message())
                forced = conn.newStream(0)
                dom.openConsole(None, forced, libvirt.VIR_DOMAIN_CONSOLE_FORCE)
                try:
                    stream.recv(64)
                    print("first still open")
                except libvirt.libvirtError as e:
                    print("first ended", e.get_error_message())
                forced.send(b"again\\r")
                print("forced", forced.recv(64))
                forced.finish()
                conn.close()
                """
            let result = try await daemon.python(script, daemon.uri)
            #expect(result.status == 0, "\(result)")
            #expect(result.output.contains("first b'\\r\\nfake-vmm serial ready\\r\\n'"), "\(result)")
            #expect(
                result.output.contains(
                    "second refused 9 operation failed: Active console session exists for this domain"),
                "\(result)")
            #expect(result.output.contains("first ended operation failed: the console was taken over"), "\(result)")
            #expect(result.output.contains("forced b'\\r\\nfake-vmm serial ready"), "\(result)")

            // A client that vanishes without closing its stream does not keep the console.
            let vanish = """
                import libvirt, os, sys
                conn = libvirt.open(sys.argv[1])
                stream = conn.newStream(0)
                conn.lookupByName("guest1").openConsole(None, stream, 0)
                print("opened", stream.recv(64))
                sys.stdout.flush()
                os._exit(0)
                """
            #expect(try await daemon.python(vanish, daemon.uri).output.contains("opened"))
            let console = try await daemon.console("guest1", probe: "after-vanish")
            #expect(console.output.contains("steps ok ok ok"), "\(console)")
            #expect(try await daemon.virsh("destroy", "guest1").status == 0)
        }
    }

    @Test("the VMM survives SIGKILL of the daemon; the restarted daemon lists it running and its console works")
    func daemonKilled() async throws {
        try await withDaemonProcess { daemon in
            let fixture = daemon.fixture
            let path = try Self.guestFile(fixture)
            #expect(try await daemon.virsh("define", path).status == 0)
            #expect(try await daemon.virsh("start", "guest1").status == 0)
            let pid = try #require(fixture.pid(of: "guest1"))

            try await daemon.kill9()
            try await Task.sleep(for: .milliseconds(200))
            #expect(processIsAlive(pid), "the VMM outlives the daemon")
            #expect(try fixture.control("guest1", "status") == "running")

            try await daemon.start()
            let list = try await daemon.virsh("list")
            #expect(list.output.contains(" 1    guest1   running"), "\(list)")
            let console = try await daemon.console("guest1", probe: "still-here")
            #expect(console.output.contains("steps ok ok ok"), "\(console)")
            #expect(try await daemon.virsh("destroy", "guest1").status == 0)
            #expect(!processIsAlive(pid))
            #expect(try await daemon.virsh("domstate", "guest1").output.hasPrefix("shut off"))
        }
    }

    @Test("python3-libvirt drives the real backend")
    func pythonBindings() async throws {
        try await withDaemonProcess { daemon in
            let path = try Self.guestFile(daemon.fixture)
            let script = """
                import libvirt, sys, time
                conn = libvirt.open(sys.argv[1])
                dom = conn.defineXML(open(sys.argv[2]).read())
                dom.create()
                print("running", dom.isActive(), dom.ID(), dom.state())
                dom.suspend()
                print("suspended", dom.state())
                dom.resume()
                info = dom.info()
                print("info", info[0], info[1], info[3])
                dom.destroy()
                print("destroyed", dom.state())
                dom.undefine()
                print("left", conn.listAllDomains())
                conn.close()
                """
            let result = try await daemon.python(script, daemon.uri, path)
            #expect(result.status == 0, "\(result)")
            for line in [
                "running 1 1 [1, 1]", "suspended [3, 1]", "info 1 262144 2", "destroyed [5, 2]", "left []",
            ] {
                #expect(result.output.contains(line), "missing \(line) in \(result)")
            }
        }
    }

    @Test("virsh domcapabilities and python3-libvirt getDomainCapabilities name the daemon's VMM")
    func domainCapabilities() async throws {
        try await withDaemonProcess { daemon in
            let vmm = daemon.fixture.fakeVMM
            let domcapabilities = try await daemon.virsh("domcapabilities", "--emulatorbin", vmm)
            #expect(domcapabilities.status == 0, "\(domcapabilities)")
            #expect(domcapabilities.output.contains("<path>\(vmm)</path>"), "\(domcapabilities)")
            #expect(domcapabilities.output.contains("<vcpu max='254'/>"), "\(domcapabilities)")
            let capabilities = try await daemon.virsh("capabilities")
            #expect(capabilities.output.contains("<emulator>\(vmm)</emulator>"), "\(capabilities)")
            let other = try await daemon.virsh("domcapabilities", "--emulatorbin", daemon.fixture.directory + "/qemu")
            #expect(
                other.error.contains("error: Cannot check QEMU binary \(daemon.fixture.directory)/qemu: No such file"),
                "\(other)")
            let script = """
                import libvirt, sys
                conn = libvirt.open(sys.argv[1])
                xml = conn.getDomainCapabilities(None, "x86_64", "pc", "kvm", 0)
                print("path" if "<path>" + sys.argv[2] + "</path>" in xml else "no path", xml.count("<loader supported='no'/>"))
                """
            let result = try await daemon.python(script, daemon.uri, vmm)
            #expect(result.output.contains("path 1"), "\(result)")
        }
    }
}
