import Synchronization
import Testing

@testable import Devices

/// A function that records config writes and answers reads with the register number.
final class RecordingPCIFunction: PCIFunction {
    private let writes = Mutex<[(offset: Int, size: Int, value: UInt32)]>([])
    var log: [(offset: Int, size: Int, value: UInt32)] { writes.withLock { $0 } }

    func readConfig(offset: Int, size: Int) -> UInt32 { UInt32(offset) | 0xAB00 }
    func writeConfig(offset: Int, size: Int, value: UInt32) {
        writes.withLock { $0.append((offset, size, value)) }
    }
}

@Suite("PCI configuration mechanism #1 and the host bridge")
struct PCIConfigMechanismTests {
    static func address(slot: UInt32, register: UInt32, bus: UInt32 = 0, function: UInt32 = 0) -> UInt64 {
        UInt64(1 << 31 | bus << 16 | slot << 11 | function << 8 | register)
    }

    @Test("Linux's type-1 probe: a byte write to 0xCFB is ignored, a dword to 0xCF8 reads back")
    func typeOneProbe() {
        let mechanism = PCIConfigMechanism(functions: [0: PCIHostBridge()])
        mechanism.write(offset: 3, size: 1, value: 0x01)
        #expect(mechanism.read(offset: 0, size: 4) == 0)
        mechanism.write(offset: 0, size: 4, value: 0x8000_0000)
        #expect(mechanism.read(offset: 0, size: 4) == 0x8000_0000)
        #expect(mechanism.read(offset: 3, size: 1) == 0x80)
    }

    @Test("the host bridge answers at 00:00.0 with its IDs and the host-bridge class; writes change nothing")
    func hostBridge() {
        let mechanism = PCIConfigMechanism(functions: [0: PCIHostBridge()])
        mechanism.write(offset: 0, size: 4, value: Self.address(slot: 0, register: 0))
        #expect(mechanism.read(offset: 4, size: 4) == 0x0008_1B36)
        #expect(mechanism.read(offset: 6, size: 2) == 0x0008)
        mechanism.write(offset: 0, size: 4, value: Self.address(slot: 0, register: 8))
        #expect(mechanism.read(offset: 6, size: 2) == 0x0600)  // class word at 0x0A
        mechanism.write(offset: 4, size: 4, value: 0xFFFF_FFFF)
        #expect(mechanism.read(offset: 4, size: 4) == 0x0600_0000)
    }

    @Test("empty slots, other buses and functions, and a clear enable bit read all ones")
    func absentFunctions() {
        let recorder = RecordingPCIFunction()
        let mechanism = PCIConfigMechanism(functions: [3: recorder])
        for address in [
            Self.address(slot: 4, register: 0), Self.address(slot: 3, register: 0, bus: 1),
            Self.address(slot: 3, register: 0, function: 1), Self.address(slot: 3, register: 0) & 0x7FFF_FFFF,
        ] {
            mechanism.write(offset: 0, size: 4, value: address)
            #expect(mechanism.read(offset: 4, size: 4) == 0xFFFF_FFFF)
            #expect(mechanism.read(offset: 4, size: 2) == 0xFFFF)
            mechanism.write(offset: 4, size: 4, value: 0x1234)
        }
        #expect(recorder.log.isEmpty)
    }

    @Test("data-port accesses reach the register the address names plus the port offset")
    func registerSelection() {
        let recorder = RecordingPCIFunction()
        let mechanism = PCIConfigMechanism(functions: [31: recorder])
        mechanism.write(offset: 0, size: 4, value: Self.address(slot: 31, register: 0x13))  // low bits dropped
        #expect(mechanism.read(offset: 4, size: 4) == 0xAB10)
        #expect(mechanism.read(offset: 6, size: 2) == 0xAB12)
        #expect(mechanism.read(offset: 7, size: 1) == 0x13)
        mechanism.write(offset: 5, size: 1, value: 0x7F)
        #expect(recorder.log.count == 1)
        #expect(recorder.log.first.map { $0.offset == 0x11 && $0.size == 1 && $0.value == 0x7F } == true)
    }

    @Test("accesses that straddle the two registers or run past the range are refused, never trap")
    func hostileAccesses() {
        let recorder = RecordingPCIFunction()
        let mechanism = PCIConfigMechanism(functions: [1: recorder])
        mechanism.write(offset: 0, size: 4, value: Self.address(slot: 1, register: 0))
        #expect(mechanism.read(offset: 2, size: 4) == 0xFFFF_FFFF)
        #expect(mechanism.read(offset: 6, size: 4) == 0xFFFF_FFFF)
        #expect(mechanism.read(offset: 4, size: 8) == UInt64.max)
        #expect(mechanism.read(offset: 9, size: 1) == 0xFF)
        mechanism.write(offset: 6, size: 4, value: 1)
        mechanism.write(offset: UInt64.max, size: 4, value: 1)
        #expect(recorder.log.isEmpty)
        #expect(mechanism.read(offset: 0, size: 4) == Self.address(slot: 1, register: 0))
    }
}
