import Foundation
import Testing

@testable import VMM

/// The ACPI power button from the control socket to a guest that polls PM1_STS, as ACPICA's SCI
/// handler reads it, and powers off in answer.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["SWIFTVIRT_SKIP_KVM"] != "1", "SWIFTVIRT_SKIP_KVM=1"))
struct PowerButtonTests {
    /// Enables PWRBTN_EN, waits for PWRBTN_STS, clears it, then writes SLP_TYP 5 | SLP_EN to PM1_CNT.
    static let powerOffOnButton: [UInt8] = [
        0x66, 0xBA, 0x02, 0x06,  // mov dx, 0x602 (PM1_EN)
        0x66, 0xB8, 0x00, 0x01,  // mov ax, 0x0100 (PWRBTN_EN)
        0x66, 0xEF,  // out dx, ax
        0x66, 0xBA, 0x00, 0x06,  // 1: mov dx, 0x600 (PM1_STS)
        0x66, 0xED,  // in ax, dx
        0x66, 0xA9, 0x00, 0x01,  // test ax, 0x0100
        0x74, 0xF4,  // jz 1b
        0x66, 0xEF,  // out dx, ax (write 1 to clear PWRBTN_STS)
        0x66, 0xBA, 0x04, 0x06,  // mov dx, 0x604 (PM1_CNT)
        0x66, 0xB8, 0x00, 0x34,  // mov ax, 0x3400
        0x66, 0xEF,  // out dx, ax
        0xEB, 0xFE,  // 2: jmp 2b
    ]

    @Test func thePowerButtonReachesAGuestThatListens() throws {
        let machine = try tinyMachine(code: Self.powerOffOnButton, mode: .long)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("svpwr-\(getpid()).sock").path
        let control = try ControlSocket(path: path, machine: machine)
        try machine.start()
        let deadline = Date().addingTimeInterval(30)
        while !machine.powerButtonEnabled && Date() < deadline { usleep(1000) }
        #expect(machine.powerButtonEnabled)
        #expect(control.execute("powerbutton") == "ok")
        #expect(machine.waitForExit() == .poweredOff)
    }
}
