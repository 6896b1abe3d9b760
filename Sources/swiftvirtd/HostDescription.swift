import DomainXML
import LibvirtProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// What the daemon tells clients about the host and itself: CONNECT_GET_HOSTNAME, NODE_GET_INFO,
/// CONNECT_GET_CAPABILITIES and the version calls.
struct HostDescription: Sendable {
    var hostname: String
    var nodeInfo: NodeInfoReply
    /// The VMM executable each running domain is: the capabilities' `<emulator>` and the domain
    /// capabilities' `<path>`.
    var vmmExecutable: String
    /// CONNECT_GET_VERSION. Clients (virt-install, virt-manager) gate QEMU features on this number, so
    /// it names the QEMU release whose libvirt domain XML SwiftVirt accepts: 7.2.0, Debian 12's.
    var hypervisorVersion: UInt64 = 7_002_000
    /// CONNECT_GET_LIB_VERSION: the libvirt release whose protocol this daemon speaks.
    var libraryVersion: UInt64 = 9_000_000
    /// CONNECT_GET_MAX_VCPUS and the capabilities' `maxCpus`: what a domain definition may ask for.
    var maxVirtualCPUs = Int32(DomainDefinition.maxVirtualCPUs)

    /// Facts read from this host (hostname, /proc/meminfo, /proc/cpuinfo, online CPUs) and the VMM
    /// this daemon runs.
    static func current(vmmExecutable: String) -> HostDescription {
        HostDescription(
            hostname: Self.systemHostname(), nodeInfo: Self.systemNodeInfo(), vmmExecutable: vmmExecutable)
    }

    /// A minimal `<capabilities>` document: one x86_64 hvm guest type, machine `pc` run by the VMM,
    /// with the kvm and qemu domain types (both run on KVM).
    var capabilitiesXML: String {
        """
        <capabilities>

          <host>
            <cpu>
              <arch>x86_64</arch>
            </cpu>
            <power_management/>
            <topology>
              <cells num='1'>
                <cell id='0'>
                  <memory unit='KiB'>\(nodeInfo.memory)</memory>
                  <cpus num='\(nodeInfo.cpus)'/>
                </cell>
              </cells>
            </topology>
          </host>

          <guest>
            <os_type>hvm</os_type>
            <arch name='x86_64'>
              <wordsize>64</wordsize>
              \(XMLTreeElement(name: "emulator", text: vmmExecutable).formatted.dropLast())
              <machine maxCpus='\(maxVirtualCPUs)'>\(DomainCapabilities.machine)</machine>
              <domain type='qemu'/>
              <domain type='kvm'/>
            </arch>
            <features>
              <acpi default='on' toggle='yes'/>
              <apic default='on' toggle='no'/>
            </features>
          </guest>

        </capabilities>

        """
    }

    private static func systemHostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return bytes.isEmpty ? "localhost" : String(decoding: bytes, as: UTF8.self)
    }

    private static func systemNodeInfo() -> NodeInfoReply {
        let cpus = Int32(clamping: max(sysconf(Int32(_SC_NPROCESSORS_ONLN)), 1))
        var memoryKiB: UInt64 = 0
        if let meminfo = readSmallFile("/proc/meminfo"),
            let line = meminfo.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") })
        {
            memoryKiB = line.split(separator: " ").dropFirst().first.flatMap { UInt64($0) } ?? 0
        }
        var mhz: Int32 = 0
        if let cpuinfo = readSmallFile("/proc/cpuinfo"),
            let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("cpu MHz") }),
            let value = line.split(separator: ":").last.flatMap({ Double($0.trimmingCharacters(in: " \t")) }),
            value.isFinite, value >= 0, value < Double(Int32.max)
        {
            mhz = Int32(value)
        }
        return NodeInfoReply(
            model: "x86_64", memory: memoryKiB, cpus: cpus, mhz: mhz, nodes: 1, sockets: 1, cores: cpus, threads: 1)
    }

    /// Reads at most 1 MiB of a text file under /proc.
    private static func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < 1 << 20 {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += chunk.prefix(count)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var result = self
        while let first = result.first, set.contains(first) { result = result.dropFirst() }
        while let last = result.last, set.contains(last) { result = result.dropLast() }
        return result
    }
}
