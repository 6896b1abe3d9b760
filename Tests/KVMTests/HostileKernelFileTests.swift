import Foundation
import Testing
import X86Boot

@testable import VMM

/// Kernel and initrd files that are truncated, lie in their headers or are absurdly large must give a
/// clear error from the machine builder, never a crash. Mutations start from the real test guest when it
/// is built (scripts/guest/build.sh), else from nothing but the synthetic cases.
@Suite(.enabled(if: kvmTestsEnabled, "SWIFTVIRT_SKIP_KVM=1"))
struct HostileKernelFileTests {
    static let scratch = FileManager.default.temporaryDirectory.appendingPathComponent(
        "swiftvirt-hostile-\(getpid())")

    static var guestDirectory: String {
        ProcessInfo.processInfo.environment["SWIFTVIRT_GUEST_DIR"]
            ?? (NSHomeDirectory() + "/.cache/swiftvirt/guest/current")
    }

    static func realFile(_ name: String) -> [UInt8]? {
        FileManager.default.contents(atPath: guestDirectory + "/" + name).map(Array.init)
    }

    static func write(_ bytes: [UInt8], named name: String) throws -> String {
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let url = scratch.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Builds a machine from `kernel` and returns the error's text; fails the test if it builds.
    static func buildError(
        kernel: String, initrd: String? = nil, commandLine: String = "console=ttyS0", memory: UInt64 = 64 << 20
    ) -> String? {
        var config = MachineConfig(boot: .linux(kernelPath: kernel, initrdPath: initrd, commandLine: commandLine))
        config.memorySize = memory
        config.console = .none
        do {
            _ = try Machine(config: config)
            Issue.record("a machine was built from hostile input \(kernel)")
            return nil
        } catch {
            return String(describing: error)
        }
    }

    @Test func missingEmptyAndNonRegularFiles() throws {
        #expect(Self.buildError(kernel: "/nonexistent/vmlinux")?.contains("kernel not found") == true)
        #expect(Self.buildError(kernel: try Self.write([], named: "empty"))?.contains("empty") == true)
        #expect(Self.buildError(kernel: NSTemporaryDirectory())?.contains("regular file") == true)
    }

    @Test func garbageIsNotAKernel() throws {
        var generator = SystemRandomNumberGenerator()
        let garbage = (0..<65536).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let message = Self.buildError(kernel: try Self.write(garbage, named: "garbage"))
        #expect(message?.contains("not a Linux kernel") == true)
    }

    @Test(arguments: [4, 64, 200, 4096, 65536, 1 << 20])
    func truncatedVmlinux(length: Int) throws {
        let vmlinux = try #require(Self.realFile("vmlinux"), "build the guest: scripts/guest/build.sh")
        let message = Self.buildError(kernel: try Self.write(Array(vmlinux.prefix(length)), named: "vmlinux-\(length)"))
        #expect(message != nil)
    }

    @Test func vmlinuxWithLyingProgramHeaders() throws {
        var vmlinux = try #require(Self.realFile("vmlinux"), "build the guest: scripts/guest/build.sh")
        vmlinux[56] = 0xFF  // e_phnum = 0xFFFF
        vmlinux[57] = 0xFF
        #expect(Self.buildError(kernel: try Self.write(vmlinux, named: "vmlinux-phnum")) != nil)
        var offset = try #require(Self.realFile("vmlinux"))
        for i in 32..<40 { offset[i] = 0xFF }  // e_phoff far past the end of the file
        #expect(Self.buildError(kernel: try Self.write(offset, named: "vmlinux-phoff")) != nil)
    }

    @Test(arguments: [512, 0x1F1 + 20, 0x300, 4096, 100_000])
    func truncatedBzImage(length: Int) throws {
        let bzImage = try #require(Self.realFile("bzImage"), "build the guest: scripts/guest/build.sh")
        #expect(Self.buildError(kernel: try Self.write(Array(bzImage.prefix(length)), named: "bz-\(length)")) != nil)
    }

    @Test func bzImageWithLyingHeaderFields() throws {
        let original = try #require(Self.realFile("bzImage"), "build the guest: scripts/guest/build.sh")
        var setupSectors = original
        setupSectors[0x1F1] = 0xFF  // setup_sects: 255 sectors of setup code
        var hugeInitSize = original
        for i in 0x260..<0x264 { hugeInitSize[i] = 0xFF }  // init_size: 4 GiB
        var ancientProtocol = original
        ancientProtocol[0x206] = 0x00  // version 2.00
        ancientProtocol[0x207] = 0x02
        for (name, bytes) in [("setup", setupSectors), ("init", hugeInitSize), ("proto", ancientProtocol)] {
            let message = Self.buildError(kernel: try Self.write(bytes, named: "bz-\(name)"))
            #expect(message != nil, "\(name)")
        }
        let initSizeMessage = Self.buildError(kernel: try Self.write(hugeInitSize, named: "bz-init2"))
        #expect(initSizeMessage?.contains("not enough guest RAM") == true)
    }

    @Test func initrdLargerThanMemoryAndOverlongCommandLine() throws {
        _ = try #require(Self.realFile("vmlinux"), "build the guest: scripts/guest/build.sh")
        let kernel = Self.guestDirectory + "/vmlinux"
        let bigInitrd = try Self.write([UInt8](repeating: 0x5A, count: 48 << 20), named: "big-initrd")
        let message = Self.buildError(kernel: kernel, initrd: bigInitrd, memory: 48 << 20)
        #expect(message?.contains("not enough guest RAM") == true)
        let longLine = String(repeating: "x", count: 5000)
        #expect(Self.buildError(kernel: kernel, commandLine: longLine)?.contains("command line") == true)
    }

    @Test func tooLittleMemoryIsRefusedBeforeAnythingIsAllocated() {
        let message = Self.buildError(kernel: "/nonexistent", memory: 8 << 20)
        #expect(message?.contains("too little for Linux") == true)
    }
}
