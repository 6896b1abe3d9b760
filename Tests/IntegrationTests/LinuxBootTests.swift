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

    static func requireGuest() throws {
        for path in [TestGuest.vmlinux, TestGuest.bzImage, TestGuest.initramfs, TestGuest.swiftvirt] {
            guard FileManager.default.fileExists(atPath: path) else {
                throw GuestMissing(path: path)
            }
        }
    }

    /// One boot, many checks: boot markers, the shell runs typed commands, every vCPU is online, the
    /// kernel saw our ACPI tables and serial port, and `poweroff` ends the VMM with exit code 0.
    func bootAndCheck(kernel: String, cpus: Int) throws {
        try Self.requireGuest()
        let guest = try GuestProcess(kernel: kernel, cpus: cpus)
        defer { if guest.process.isRunning { guest.process.terminate() } }

        try guest.expect("SWIFTVIRT-INIT", timeout: Self.bootTimeout)
        try guest.expect("SWIFTVIRT-READY nproc=\(cpus)", timeout: Self.commandTimeout)
        try guest.expect("swiftvirt:", timeout: Self.commandTimeout)  // the shell's prompt

        #expect(try guest.run("echo $((6 * 7))", timeout: Self.commandTimeout) == "42")
        let online = try guest.run("cat /sys/devices/system/cpu/online", timeout: Self.commandTimeout)
        #expect(online == (cpus == 1 ? "0" : "0-\(cpus - 1)"))
        #expect(try guest.run("grep -c ^processor /proc/cpuinfo", timeout: Self.commandTimeout) == "\(cpus)")
        let kernelLog = try guest.run("dmesg", timeout: Self.commandTimeout)
        #expect(kernelLog.contains("ACPI: FACP"))
        #expect(kernelLog.contains("ttyS0 at I/O 0x3f8 (irq = 4"))
        let interrupts = try guest.run("grep -E 'ttyS0|serial' /proc/interrupts", timeout: Self.commandTimeout)
        #expect(interrupts.contains("IO-APIC"))
        // A pipeline forks and execs several programs, each a round of converted syscalls on kvm_pvm.
        #expect(try guest.run("echo swift | tr a-z A-Z | rev", timeout: Self.commandTimeout) == "TFIWS")

        guest.type("poweroff")
        let status = guest.waitForExit(timeout: Self.commandTimeout)
        #expect(status == 0, "swiftvirt exit status after poweroff; console:\n\(guest.transcript.suffix(3000))")
        #expect(guest.transcript.contains("reboot: Power down"))
    }

    @Test func bzImageWithOneVCPU() throws {
        try bootAndCheck(kernel: TestGuest.bzImage, cpus: 1)
    }

    @Test func pvhVmlinuxWithTwoVCPUs() throws {
        try bootAndCheck(kernel: TestGuest.vmlinux, cpus: 2)
    }
}

struct GuestMissing: Error, CustomStringConvertible {
    let path: String
    var description: String {
        "\(path) is missing: run scripts/guest/build.sh (or scripts/test.sh) to build the test guest"
    }
}
