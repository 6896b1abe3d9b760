import Foundation
import Testing

let kvmTestsEnabled = ProcessInfo.processInfo.environment["SWIFTVIRT_SKIP_KVM"] != "1"

/// Boots the real test guest (scripts/guest/build.sh) under `swiftvirt run`, once per configuration,
/// and checks many things from inside each boot. A boot is minutes on a software KVM: keep it to two.
@Suite(.enabled(if: kvmTestsEnabled, "SWIFTVIRT_SKIP_KVM=1"), .serialized)
struct LinuxBootTests {
    /// Generous: on the software KVM the minimal kernel reaches /init in ~2 minutes and each exec
    /// costs seconds; hardware KVM takes well under a second.
    static let bootTimeout: TimeInterval = 600
    static let commandTimeout: TimeInterval = 180

    static func run(_ guest: GuestProcess, _ command: String, timeout: TimeInterval) throws -> String {
        try guest.run(command, timeout: timeout)
    }

    /// What the guest kernel prints when a user process faults, and what the shell says then.
    static let userFaultSignatures = ["segfault at", "general protection fault", "Segmentation fault"]

    static func requireGuest() throws {
        for path in [TestGuest.vmlinux, TestGuest.bzImage, TestGuest.initramfs, TestGuest.swiftvirt] {
            guard FileManager.default.fileExists(atPath: path) else {
                throw GuestMissing(path: path)
            }
        }
    }

    /// One boot, many checks: boot markers, the shell runs typed commands, every vCPU is online, the
    /// kernel saw our ACPI tables and serial port, and `poweroff` ends the VMM with exit code 0.
    func bootAndCheck(
        kernel: String, cpus: Int, disks: TestDisks? = nil, rig: VirtioRig? = nil, transport: String = "mmio"
    ) throws {
        try Self.requireGuest()
        let guest = try GuestProcess(
            kernel: kernel, cpus: cpus,
            extraArguments: ["--transport", transport] + (disks?.arguments ?? []) + (rig?.arguments ?? []),
            launcher: rig?.launcher ?? [])
        // The whole console, for diagnosing a failure after the fact (CI prints only the expectations).
        let consoleLog = FileManager.default.temporaryDirectory.appendingPathComponent(
            "swiftvirt-console-\(URL(fileURLWithPath: kernel).lastPathComponent)-\(cpus)cpu.log")
        defer {
            if guest.process.isRunning { guest.process.terminate() }
            try? Data(guest.transcript.utf8).write(to: consoleLog)
        }

        try guest.expect("SWIFTVIRT-INIT", timeout: Self.bootTimeout)
        try guest.expect("SWIFTVIRT-READY nproc=\(cpus)", timeout: Self.commandTimeout)
        try guest.expect("swiftvirt:", timeout: Self.commandTimeout)  // the shell's prompt

        #expect(try Self.run(guest, "echo $((6 * 7))", timeout: Self.commandTimeout) == "42")
        let online = try Self.run(guest, "cat /sys/devices/system/cpu/online", timeout: Self.commandTimeout)
        #expect(online == (cpus == 1 ? "0" : "0-\(cpus - 1)"))
        #expect(try Self.run(guest, "grep -c ^processor /proc/cpuinfo", timeout: Self.commandTimeout) == "\(cpus)")
        let kernelLog = try Self.run(guest, "dmesg", timeout: Self.commandTimeout)
        #expect(kernelLog.contains("ACPI: FACP"))
        #expect(kernelLog.contains("ttyS0 at I/O 0x3f8 (irq = 4"))
        let interrupts = try Self.run(guest, "grep -E 'ttyS0|serial' /proc/interrupts", timeout: Self.commandTimeout)
        #expect(interrupts.contains("IO-APIC"))
        // A pipeline forks and execs several programs, each a round of converted syscalls on kvm_pvm.
        #expect(try Self.run(guest, "echo swift | tr a-z A-Z | rev", timeout: Self.commandTimeout) == "TFIWS")
        // Processes that run at once and use the vector registers (glibc's memcpy/memset): on kvm_pvm this
        // faulted every time while the guest kernel switched tasks with fxsave (issue 3 note).
        #expect(
            try Self.run(
                guest, "for i in 1 2 3; do yes abc | head -c 1000 | timeout 20 true; done; echo vector-ok",
                timeout: Self.commandTimeout) == "vector-ok")

        if transport == "pci" { try checkPCI(disks: disks == nil ? 0 : 2, in: guest) }
        if let disks { try checkDisks(disks, in: guest) }
        if let rig { try checkVirtioDevices(rig, in: guest) }

        for signature in Self.userFaultSignatures {
            #expect(!guest.transcript.contains(signature), "a guest process faulted: \(signature)")
        }
        guest.type("poweroff")
        let status = guest.waitForExit(timeout: Self.commandTimeout)
        #expect(status == 0, "swiftvirt exit status after poweroff; console:\n\(guest.transcript.suffix(3000))")
        #expect(guest.transcript.contains("reboot: Power down"))
        if let rig {
            let (written, base) = try rig.overlaySectors()
            #expect(written.prefix(VirtioRig.overlayPattern.utf8.count) == Data(VirtioRig.overlayPattern.utf8))
            #expect(base.prefix(VirtioRig.basePattern.utf8.count) == Data(VirtioRig.basePattern.utf8))
        }
        if let disks {
            // What the guest wrote and synced is in the image file after power-off.
            let sector = try disks.readWritable(sector: TestDisks.guestSector)
            #expect(Array(sector.prefix(TestDisks.guestPattern.utf8.count)) == Array(TestDisks.guestPattern.utf8))
        }
    }

    /// The PCI side as the guest sees it: the ACPI root bridge, the host bridge and one virtio function
    /// per disk on bus 0 with our IDs, each interrupting through MSI-X vectors.
    func checkPCI(disks: Int, in guest: GuestProcess) throws {
        let t = Self.commandTimeout
        let kernelLog = try Self.run(guest, "dmesg | grep -i pci", timeout: t)
        #expect(kernelLog.contains("PCI Root Bridge [PCI0] (domain 0000 [bus 00])"), "\(kernelLog)")
        let functions = try Self.run(
            guest, "for f in /sys/bus/pci/devices/*; do echo ${f##*/} $(cat $f/vendor $f/device); done", timeout: t)
        var expected = ["0000:00:00.0 0x1b36 0x0008"]
        for slot in 0..<disks { expected.append("0000:00:0\(slot + 1).0 0x1af4 0x1042") }
        #expect(functions.components(separatedBy: "\r\n") == expected)
        // Linux 6.1 names the chip "PCI-MSI" for MSI and MSI-X alike; virtio vectors are edge, per queue.
        let vectors = try Self.run(guest, "grep -c -E 'PCI-MSI.*virtio' /proc/interrupts", timeout: t)
        // virtio-blk: one vector for configuration changes and one for its request queue, per disk.
        #expect(vectors == "\(2 * disks)", "MSI-X vectors in /proc/interrupts")
    }

    /// virtio-blk (over either transport): sizes, the read-only flag, the serial, a host-written pattern read by
    /// the guest, a guest write synced to the file, a write refused by the read-only disk.
    func checkDisks(_ disks: TestDisks, in guest: GuestProcess) throws {
        let t = Self.commandTimeout
        #expect(try Self.run(guest, "cat /sys/block/vda/size", timeout: t) == "\(TestDisks.writableSectors)")
        #expect(
            try Self.run(guest, "cat /sys/block/vdb/size /sys/block/vdb/ro", timeout: t)
                == "\(TestDisks.readOnlySectors)\r\n1")
        // sysfs prints the virtio-blk ID (GET_ID) without a newline.
        let serial = try Self.run(guest, "cat /sys/block/vda/serial; echo", timeout: t)
        #expect(serial == TestDisks.serial)
        let hostPattern = try Self.run(
            guest,
            "dd if=/dev/vda bs=512 skip=\(TestDisks.hostSector) count=1 2>/dev/null | head -c \(TestDisks.hostPattern.utf8.count)",
            timeout: t)
        #expect(hostPattern == TestDisks.hostPattern)
        let write = try Self.run(
            guest,
            "echo \(TestDisks.guestPattern) | dd of=/dev/vda bs=512 seek=\(TestDisks.guestSector) conv=sync 2>/dev/null; sync; echo done",
            timeout: t)
        #expect(write == "done")
        let refused = try Self.run(
            guest, "dd if=/dev/zero of=/dev/vdb bs=512 count=1 2>/dev/null; echo rc=$?", timeout: t)
        #expect(refused != "rc=0")
    }

    /// Two vCPUs here, one in the virtio boot: on kvm_pvm the intermittent user-space fault (issue 3
    /// note) is far more frequent with two vCPUs, and the virtio checks exec many programs.
    /// With the disks over virtio-pci (MSI-X); the other boot has them over virtio-mmio.
    @Test func bzImageWithTwoVCPUs() throws {
        try bootAndCheck(kernel: TestGuest.bzImage, cpus: 2, disks: try TestDisks(), transport: "pci")
    }

    /// Also every other virtio device: net over a tap in a namespace, rng, vsock, console, ext4 on a disk.
    @Test func pvhVmlinuxWithOneVCPUAndVirtioDevices() throws {
        try bootAndCheck(kernel: TestGuest.vmlinux, cpus: 1, disks: try TestDisks(), rig: try VirtioRig())
    }
}

struct GuestMissing: Error, CustomStringConvertible {
    let path: String
    var description: String {
        "\(path) is missing: run scripts/guest/build.sh (or scripts/test.sh) to build the test guest"
    }
}

/// Two raw images for the disk checks: a writable one with a host-written pattern, a read-only one.
struct TestDisks {
    static let writableSectors = 32768  // 16 MiB
    static let readOnlySectors = 2048  // 1 MiB
    static let serial = "swiftvirt-test-vda"
    static let hostSector = 100
    static let hostPattern = "HOST-WROTE-THIS-SECTOR"
    static let guestSector = 200
    static let guestPattern = "GUEST-WROTE-THIS-SECTOR"

    let writable: URL
    let readOnly: URL

    init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("swiftvirt-disks-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        writable = directory.appendingPathComponent("vda.raw")
        readOnly = directory.appendingPathComponent("vdb.raw")
        var image = Data(count: Self.writableSectors * 512)
        image.replaceSubrange(
            (Self.hostSector * 512)..<(Self.hostSector * 512 + Self.hostPattern.utf8.count),
            with: Data(Self.hostPattern.utf8))
        try image.write(to: writable)
        try Data(count: Self.readOnlySectors * 512).write(to: readOnly)
    }

    var arguments: [String] {
        ["--disk", "path=\(writable.path),serial=\(Self.serial)", "--disk", "path=\(readOnly.path),readonly=on"]
    }

    func readWritable(sector: Int) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: writable)
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(sector * 512))
        return Array(try handle.read(upToCount: 512) ?? Data())
    }
}
