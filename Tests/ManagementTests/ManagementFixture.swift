import Foundation
import LibvirtProtocol
import Synchronization
import Testing

@testable import Management

/// A fresh temporary state directory, run directory, fake VMM and guest files for one test. Short
/// paths on purpose: socket paths must fit in 107 bytes.
final class ManagementFixture: Sendable {
    let directory: String
    let paths: ManagementPaths
    let fakeVMM: String
    let kernel: String
    let disk: String
    private let notices = Mutex<[String]>([])
    private let events = Mutex<[DomainEvent]>([])
    private let backends = Mutex<[ManagedDomainBackend]>([])

    init() throws {
        var template = Array("/tmp/svm-XXXXXX".utf8CString)
        directory = try template.withUnsafeMutableBufferPointer { buffer -> String in
            guard let base = buffer.baseAddress, let result = mkdtemp(base) else { throw POSIXError(.EACCES) }
            return String(cString: result)
        }
        paths = ManagementPaths(stateDirectory: directory + "/state", runDirectory: directory + "/run")
        fakeVMM = directory + "/fake-vmm"
        kernel = directory + "/vmlinux"
        disk = directory + "/root.img"
        try FakeVMM.script.write(toFile: fakeVMM, atomically: true, encoding: .utf8)
        chmod(fakeVMM, 0o755)
        try "kernel".write(toFile: kernel, atomically: true, encoding: .utf8)
        try "disk".write(toFile: disk, atomically: true, encoding: .utf8)
    }

    /// Kills every VMM a test left running (the run directory's pid files name them) and removes the
    /// directory.
    func tearDown() {
        killLeftoverVMMs()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func killLeftoverVMMs() {
        let run = paths.runDirectory
        for name in (try? FileManager.default.contentsOfDirectory(atPath: run)) ?? [] where name.hasSuffix(".pid") {
            if let text = try? String(contentsOfFile: run + "/" + name, encoding: .utf8),
                let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1
            {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
    }

    var recordedNotices: [String] { notices.withLock { $0 } }

    /// Every domain event the fixture's backends reported, in order.
    var recordedEvents: [DomainEvent] { events.withLock { $0 } }

    /// The recorded lifecycle events of domain `name`, in order.
    func lifecycleEvents(of name: String) -> [DomainLifecycleEvent] {
        recordedEvents.compactMap { event in
            guard event.domain.name == name, case .lifecycle(let lifecycle) = event.kind else { return nil }
            return lifecycle
        }
    }

    func configuration() -> ManagedDomainBackend.Configuration {
        var configuration = ManagedDomainBackend.Configuration(paths: paths, vmmExecutable: fakeVMM)
        // Generous: the fake VMM is a python3 process, and CI runs Linux guests on the same two cores.
        configuration.startTimeout = .seconds(60)
        configuration.controlTimeout = .seconds(15)
        configuration.quitTimeout = .seconds(5)
        configuration.monitorInterval = .milliseconds(50)
        configuration.notice = { [self] note in self.notices.withLock { $0.append(note) } }
        configuration.events = { [self] event in self.events.withLock { $0.append(event) } }
        return configuration
    }

    /// A backend on this fixture's directories; `withFixture` closes it at the end.
    func open(_ configuration: ManagedDomainBackend.Configuration? = nil) async throws -> ManagedDomainBackend {
        let backend = try await ManagedDomainBackend.open(configuration ?? self.configuration())
        backends.withLock { $0.append(backend) }
        return backend
    }

    func closeBackends() async {
        for backend in backends.withLock({ $0 }) { await backend.close() }
    }

    /// Writes a kernel file whose content steers the fake VMM ("fail-start", "deaf", "powerbutton").
    func kernel(named name: String, behaviour: String) throws -> String {
        let path = directory + "/" + name
        try behaviour.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Domain XML for a guest with a virtio disk and (optionally) more devices.
    func xml(
        name: String, uuid: String = UUID().uuidString.lowercased(), kernel: String? = nil, devices: String = "",
        onReboot: String = "restart"
    ) -> String {
        """
        <domain type='kvm'>
          <name>\(name)</name>
          <uuid>\(uuid)</uuid>
          <memory unit='KiB'>262144</memory>
          <vcpu>2</vcpu>
          <os>
            <type arch='x86_64'>hvm</type>
            <kernel>\(kernel ?? self.kernel)</kernel>
            <cmdline>console=ttyS0 panic=-1</cmdline>
          </os>
          <on_reboot>\(onReboot)</on_reboot>
          <devices>
            <disk type='file' device='disk'>
              <driver name='qemu' type='raw'/>
              <source file='\(disk)'/>
              <target dev='vda' bus='virtio'/>
            </disk>
            \(devices)
            <console type='pty'/>
          </devices>
        </domain>
        """
    }

    /// Sends one control command straight to a VMM, as another tool (or the guest, for `exit N`) would.
    func control(_ name: String, _ command: String) throws -> String {
        try UnixSocket.exchangeLine(
            path: paths.runFiles(name).controlSocket, command: command, timeoutMilliseconds: 2000)
    }

    func pid(of name: String) -> Int32? {
        (try? String(contentsOfFile: paths.runFiles(name).pidFile, encoding: .utf8))
            .flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// Polls `condition` every 20 ms for up to `seconds`.
    func eventually(
        _ seconds: Double = 5, _ condition: @Sendable () async throws -> Bool
    ) async rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }
}

/// Whether a process exists and is not a zombie.
func processIsAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// Runs `body` with a fixture that is torn down afterwards, whatever happens.
func withFixture(_ body: (ManagementFixture) async throws -> Void) async throws {
    let fixture = try ManagementFixture()
    do {
        try await body(fixture)
    } catch {
        await fixture.closeBackends()
        fixture.tearDown()
        throw error
    }
    await fixture.closeBackends()
    fixture.tearDown()
}
