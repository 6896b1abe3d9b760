import Foundation
import GuestMemory
import KVM
import Testing

@testable import VMM

/// Pause parks every vCPU outside the guest; resume lets them run again; the control socket drives both.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SWIFTVIRT_SKIP_KVM"] != "1", "SWIFTVIRT_SKIP_KVM=1"))
struct PauseTests {
    static let counter = GuestAddress(0x2000)
    /// 1: inc qword [0x2000]; jmp 1b — a guest that counts as fast as it runs.
    static let countingLoop: [UInt8] = [0x48, 0xFF, 0x04, 0x25, 0x00, 0x20, 0x00, 0x00, 0xEB, 0xF6]

    func count(_ machine: Machine) throws -> UInt64 {
        try machine.memory.load(UInt64.self, at: Self.counter)
    }

    func waitUntilCounting(_ machine: Machine, past value: UInt64) throws {
        let deadline = Date().addingTimeInterval(10)
        while try count(machine) <= value {
            guard Date() < deadline else { throw PauseTestTimeout() }
            usleep(1000)
        }
    }

    @Test func pauseStopsTheGuestAndResumeRestartsIt() throws {
        let machine = try tinyMachine(code: Self.countingLoop, mode: .long, vcpus: 2)
        try machine.start()
        defer {
            machine.stop()
            _ = machine.waitForExit()
        }
        try waitUntilCounting(machine, past: 0)
        machine.pause()
        #expect(machine.isPaused)
        let paused = try count(machine)
        usleep(50_000)
        #expect(try count(machine) == paused)
        machine.resume()
        #expect(!machine.isPaused)
        try waitUntilCounting(machine, past: paused)
    }

    @Test func controlSocketCommands() throws {
        let machine = try tinyMachine(code: Self.countingLoop, mode: .long)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("svctl-\(getpid()).sock").path
        let control = try ControlSocket(path: path, machine: machine)
        try machine.start()
        #expect(control.execute("status") == "running")
        #expect(control.execute("pause") == "ok")
        #expect(control.execute("status\r") == "paused")
        #expect(control.execute("resume") == "ok")
        #expect(control.execute("bogus").hasPrefix("error unknown command"))
        #expect(control.execute("quit") == "ok")
        #expect(machine.waitForExit() == .stopped)
    }
}

struct PauseTestTimeout: Error {}
