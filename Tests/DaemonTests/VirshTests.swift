import DomainXML
import Foundation
import LibvirtProtocol
import Testing

@testable import swiftvirtd

/// A domain with every modeled device, fixed MACs so its XML is stable.
let guestXML = """
    <domain type='kvm'>
      <name>guest1</name>
      <uuid>6f0b1b6e-3c57-4d0c-9a38-2d9b8f6c1e01</uuid>
      <memory unit='MiB'>512</memory>
      <vcpu>2</vcpu>
      <os>
        <type arch='x86_64'>hvm</type>
        <kernel>/var/lib/swiftvirt/vmlinux</kernel>
        <cmdline>console=ttyS0 root=/dev/vda</cmdline>
      </os>
      <features><acpi/><apic/></features>
      <devices>
        <disk type='file' device='disk'>
          <driver name='qemu' type='raw'/>
          <source file='/var/lib/swiftvirt/root.img'/>
          <target dev='vda' bus='virtio'/>
        </disk>
        <interface type='bridge'>
          <mac address='52:54:00:12:34:56'/>
          <source bridge='br0'/>
          <model type='virtio'/>
        </interface>
        <console type='pty'/>
        <video><model type='none'/></video>
      </devices>
    </domain>
    """

/// Stock `virsh` (Debian 12, libvirt 9.0) against an in-process swiftvirtd.
@Suite("virsh against swiftvirtd", .serialized)
struct VirshTests {
    @Test("connection commands: version, hostname, uri, nodeinfo, capabilities, empty list")
    func connectionCommands() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let version = try await daemon.virsh("version", "--daemon")
            #expect(version.status == 0, "\(version)")
            #expect(version.output.contains("Using API: QEMU 9.0.0"))
            #expect(version.output.contains("Running hypervisor: QEMU 7.2.0"))
            #expect(version.output.contains("Running against daemon: 9.0.0"))

            let hostname = try await daemon.virsh("hostname")
            #expect(hostname.output.split(separator: "\n") == ["swiftvirt-test-host"], "\(hostname)")

            let uri = try await daemon.virsh("uri")
            #expect(uri.status == 0, "\(uri)")
            #expect(uri.output.hasPrefix("qemu:///system"))

            let nodeinfo = try await daemon.virsh("nodeinfo")
            #expect(nodeinfo.status == 0, "\(nodeinfo)")
            #expect(nodeinfo.output.contains("CPU model:           x86_64"))
            #expect(nodeinfo.output.contains("CPU(s):              4"))
            #expect(nodeinfo.output.contains("CPU frequency:       2000 MHz"))
            #expect(nodeinfo.output.contains("Memory size:         8388608 KiB"))

            let capabilities = try await daemon.virsh("capabilities")
            #expect(capabilities.status == 0, "\(capabilities)")
            #expect(capabilities.output.contains("<os_type>hvm</os_type>"))
            #expect(capabilities.output.contains("<domain type='kvm'/>"))

            let list = try await daemon.virsh("list", "--all")
            #expect(list.status == 0, "\(list)")
            #expect(list.output.contains(" Id   Name   State"))
            #expect(!list.output.contains("guest"))
        }
    }

    @Test("define, list, dominfo, dumpxml, lifecycle and undefine")
    func domainLifecycle() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = try daemon.file("guest1.xml", guestXML)
            let define = try await daemon.virsh("define", path)
            #expect(define.status == 0, "\(define)")
            #expect(define.output.contains("Domain 'guest1' defined from \(path)"))

            let list = try await daemon.virsh("list", "--all")
            #expect(list.status == 0, "\(list)")
            #expect(list.output.range(of: #" -    guest1   shut off"#) != nil, "\(list)")

            let info = try await daemon.virsh("dominfo", "guest1")
            #expect(info.status == 0, "\(info)")
            for line in [
                "Id:             -", "Name:           guest1", "UUID:           6f0b1b6e-3c57-4d0c-9a38-2d9b8f6c1e01",
                "OS Type:        hvm", "State:          shut off", "CPU(s):         2",
                "Max memory:     524288 KiB", "Used memory:    524288 KiB", "Persistent:     yes",
                "Autostart:      disable", "Managed save:   no",
                "Messages:       element <video> in <domain/devices> is not supported; it is kept but ignored",
            ] {
                #expect(info.output.contains(line), "missing \(line) in \(info)")
            }

            let dump = try await daemon.virsh("dumpxml", "guest1")
            #expect(dump.status == 0, "\(dump)")
            #expect(try DomainDefinition.parse(dump.output) == DomainDefinition.parse(guestXML))
            #expect(dump.output.contains("<video>"))

            let start = try await daemon.virsh("start", "guest1")
            #expect(start.status == 0, "\(start)")
            #expect(start.output.contains("Domain 'guest1' started"))
            let running = try await daemon.virsh("list")
            #expect(running.output.range(of: #" 1    guest1   running"#) != nil, "\(running)")
            #expect(try await daemon.virsh("domid", "guest1").output.hasPrefix("1\n"))
            #expect(try await daemon.virsh("domname", "1").output.hasPrefix("guest1\n"))
            #expect(
                try await daemon.virsh("domuuid", "guest1").output.hasPrefix("6f0b1b6e-3c57-4d0c-9a38-2d9b8f6c1e01"))
            let liveXML = try await daemon.virsh("dumpxml", "guest1")
            #expect(liveXML.output.hasPrefix("<domain type='kvm' id='1'>"))
            #expect(liveXML.output.contains("<console type='pty' tty='/dev/pts/99'>"))

            let suspend = try await daemon.virsh("suspend", "guest1")
            #expect(suspend.status == 0, "\(suspend)")
            #expect(try await daemon.virsh("domstate", "guest1").output.hasPrefix("paused"))
            let resume = try await daemon.virsh("resume", "guest1")
            #expect(resume.status == 0, "\(resume)")
            #expect(try await daemon.virsh("domstate", "guest1").output.hasPrefix("running"))
            let resumeAgain = try await daemon.virsh("resume", "guest1")
            #expect(resumeAgain.status != 0)
            #expect(resumeAgain.error.contains("Requested operation is not valid: domain is not paused"))

            let shutdown = try await daemon.virsh("shutdown", "guest1")
            #expect(shutdown.status == 0, "\(shutdown)")
            #expect(try await daemon.virsh("domstate", "guest1", "--reason").output.hasPrefix("shut off (shutdown)"))
            _ = try await daemon.virsh("start", "guest1")
            let destroy = try await daemon.virsh("destroy", "guest1")
            #expect(destroy.status == 0, "\(destroy)")
            #expect(destroy.output.contains("Domain 'guest1' destroyed"))
            #expect(try await daemon.virsh("domstate", "guest1", "--reason").output.hasPrefix("shut off (destroyed)"))

            let autostart = try await daemon.virsh("autostart", "guest1")
            #expect(autostart.status == 0, "\(autostart)")
            #expect(try await daemon.virsh("dominfo", "guest1").output.contains("Autostart:      enable"))
            #expect(try await daemon.virsh("list", "--all", "--autostart").output.contains("guest1"))

            let undefine = try await daemon.virsh("undefine", "guest1")
            #expect(undefine.status == 0, "\(undefine)")
            #expect(undefine.output.contains("Domain 'guest1' has been undefined"))
            #expect(!(try await daemon.virsh("list", "--all").output.contains("guest1")))
        }
    }

    @Test("client mistakes come back as libvirt errors")
    func errors() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let missing = try await daemon.virsh("dominfo", "nosuch")
            #expect(missing.status == 1)
            #expect(missing.error.contains("error: failed to get domain 'nosuch'"), "\(missing)")

            let bad = try daemon.file("bad.xml", "<domain type='kvm'><name>x</name></domian>")
            let malformed = try await daemon.virsh("define", bad)
            #expect(malformed.status == 1)
            #expect(
                malformed.error.contains(
                    "(domain_definition):1: Opening and ending tag mismatch: domain line 1 and domian"),
                "\(malformed)")

            let block = try daemon.file(
                "block.xml",
                "<domain type='kvm'><name>b</name><memory>1024</memory><os><type>hvm</type></os><devices>"
                    + "<disk type='block'><source dev='/dev/sda'/><target dev='vda'/></disk></devices></domain>")
            let unsupported = try await daemon.virsh("define", block)
            #expect(unsupported.status == 1)
            #expect(unsupported.error.contains("unsupported configuration: disk type 'block' is not supported"))

            let notRunning = try await daemon.virsh("destroy", "nosuch")
            #expect(notRunning.status == 1)
        }
    }

    @Test("the read-only socket lists but refuses changes")
    func readOnlySocket() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let path = try daemon.file("guest1.xml", guestXML)
            let list = try await daemon.virsh("list", "--all", readOnlySocket: true)
            #expect(list.status == 0, "\(list)")
            let define = try await daemon.virsh("define", path, readOnlySocket: true)
            #expect(define.status == 1)
            #expect(
                define.error.contains("operation forbidden: read only access prevents virDomainDefineXML"), "\(define)")
            #expect(await daemon.backend.list().isEmpty)
        }
    }

    @Test("virsh -r works on the read-only socket; virsh event registers and drops callbacks")
    func readOnlyClientAndEvents() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let list = try await daemon.virsh("-r", "list", "--all", readOnlySocket: true)
            #expect(list.status == 0, "\(list)")
            let events = try await daemon.virsh("event", "--all", "--timeout", "1")
            // virsh exits 1 when its event loop times out; registration errors would be on stderr.
            #expect(events.output.contains("event loop timed out\nevents received: 0"), "\(events)")
            #expect(events.error.isEmpty, "\(events)")
        }
    }

    @Test("python3-libvirt drives the same daemon")
    func pythonBindings() async throws {
        try await DaemonHarness.withDaemon { daemon in
            let script = """
                import libvirt, sys
                conn = libvirt.open(sys.argv[1])
                print("type", conn.getType(), "lib", conn.getLibVersion(), "host", conn.getHostname())
                dom = conn.defineXML(open(sys.argv[2]).read())
                print("defined", dom.name(), dom.UUIDString(), dom.isActive(), dom.isPersistent())
                print("list", [d.name() for d in conn.listAllDomains()])
                dom.create()
                print("info", dom.info(), dom.ID(), conn.lookupByID(dom.ID()).name())
                dom.destroy()
                print("state", dom.state())
                xml = dom.XMLDesc(0)
                dom.undefine()
                print("after", conn.listDefinedDomains(), "<name>guest1</name>" in xml)
                try:
                    conn.lookupByName("guest1")
                except libvirt.libvirtError as e:
                    print("error", e.get_error_code(), e.get_error_message())
                conn.close()
                """
            let xmlPath = try daemon.file("guest1.xml", guestXML)
            let result = try await daemon.python(script, xmlPath)
            #expect(result.status == 0, "\(result)")
            for line in [
                "type QEMU lib 9000000 host swiftvirt-test-host",
                "defined guest1 6f0b1b6e-3c57-4d0c-9a38-2d9b8f6c1e01 0 1",
                "list ['guest1']",
                "info [1, 524288, 524288, 2, 1000000] 1 guest1",
                "state [5, 2]",
                "after [] True",
                "error 42 Domain not found: no domain with matching name 'guest1'",
            ] {
                #expect(result.output.contains(line), "missing \(line) in \(result)")
            }
        }
    }
}
